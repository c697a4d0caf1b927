/**
 * How long a parse thread's event loop goes without being idle once while it parses a message
 * (what src/parse/parse-pool.ts's PARSE_HELD_MS bounds), next to the parse's whole time: each
 * message parsed alone on a fresh parse thread, from a spool file (`path`, as SMTP's big mail) or
 * from memory (`raw`), its attachments acknowledged at once (a fast store). The loop's idle time
 * is read from this thread every 5 ms, as the pool reads it.
 *
 *   node --import tsx bench/parse-held.ts [MB=16] [path|raw]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { newThread } from '../src/parse/thread.js';
import { watchLoopHold } from './lib/loop-hold.js';
import type { FromWorker, ParseTask } from '../src/parse/parse-protocol.js';

const mb = Number(process.argv[2] ?? 16);
const mode = process.argv[3] === 'raw' ? 'raw' : 'path';
const size = mb * 1024 * 1024;
const head = (type: string, extra = '') => `From: a@sender.test\r\nSubject: held\r\nMIME-Version: 1.0\r\nContent-Type: ${type}\r\n${extra}\r\n`;
const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length));

const KINDS: Record<string, () => string> = {
  'html': () => head('text/html') + fill('<p>hello <a href="http://x.example/">link</a> <b>bold</b></p>\r\n'),
  'plain text': () => head('text/plain') + fill('hello world this is a line of plain text in the body of a message\r\n'),
  'quoted-printable text': () => head('text/plain', 'Content-Transfer-Encoding: quoted-printable\r\n') + fill('=3D'.repeat(25) + '=\r\n'),
  'quoted-printable html': () => head('text/html', 'Content-Transfer-Encoding: quoted-printable\r\n') + fill('=3D'.repeat(25) + '=\r\n'),
  'base64 html': () => head('text/html', 'Content-Transfer-Encoding: base64\r\n') + Buffer.from(fill('<p>hi</p>').slice(0, Math.floor(size * 0.74))).toString('base64').replace(/.{76}/g, '$&\r\n'),
  'shift_jis text': () => head('text/plain; charset=shift_jis') + fill('\x82\xa0\x82\xa2\x82\xa4abc '.repeat(6) + '\r\n'),
  'utf-16le text': () => head('text/plain; charset=utf-16le') + fill('a\x00b\x00'.repeat(30) + '\r\x00\n\x00'),
  'uuencoded': () => head('text/plain', 'Content-Transfer-Encoding: x-uuencode\r\n') + 'begin 644 a.bin\r\n' + fill('M' + 'A'.repeat(60) + '\r\n') + '`\r\nend\r\n',
  'base64 attachment': () =>
    head('multipart/mixed; boundary="b"') +
    '--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
    Buffer.alloc(Math.floor(size * 0.74), 7).toString('base64').replace(/.{76}/g, '$&\r\n') +
    '\r\n--b--\r\n',
};

async function measure(message: Buffer, path: string): Promise<{ total: number; longest: number }> {
  const w = newThread('parse-worker');
  await new Promise((r) => w.once('message', r));
  const { port1, port2 } = new MessageChannel();
  const t0 = performance.now();
  const hold = watchLoopHold(w, 5);
  const done = new Promise<void>((resolve) =>
    port1.on('message', (m: FromWorker) => {
      if (m.t === 'chunk') port1.postMessage({ t: 'ack', index: m.index });
      else if (m.t === 'end') port1.postMessage({ t: 'stored', index: m.index, error: null });
      else if (m.t === 'done' || m.t === 'error') resolve();
    }),
  );
  const task: ParseTask = { raw: mode === 'raw' ? new Uint8Array(message) : null, path: mode === 'path' ? path : null, json: null, keepAttachments: true, keepBodies: true, auth: null, port: port2 };
  w.postMessage(task, [port2]);
  await done;
  const longest = hold.stop();
  const end = performance.now();
  await w.terminate();
  return { total: end - t0, longest };
}

const dir = mkdtempSync(join(tmpdir(), 'parse-held-'));
try {
  console.log(`${mb} MB bodies, from ${mode === 'path' ? 'a spool file' : 'memory'}: parse ms, longest ms without the loop idle`);
  for (const [name, make] of Object.entries(KINDS)) {
    const message = Buffer.from(make(), 'latin1');
    const path = join(dir, 'm.eml');
    writeFileSync(path, message);
    const { total, longest } = await measure(message, path);
    console.log(`${name.padEnd(24)} ${String(Math.round(total)).padStart(6)} ${String(Math.round(longest)).padStart(6)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
