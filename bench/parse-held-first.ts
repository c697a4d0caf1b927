/**
 * How long a legitimate big message holds a parse thread's event loop without a break (what
 * PARSE_HELD_MS bounds), as the first task on a fresh thread (its code cold) and the two after it
 * on the same thread: the messages of test/hostile/parse-held-by-parse.test.ts, from a spool
 * file. `queued`: 300 KB of plain text and a ~400 KB base64 attachment, acknowledged at once (the
 * message queued behind the held ones). `slow-store`: its text first, then two such attachments,
 * each one's chunks acknowledged only WAIT ms after it was opened (a slow blob store's put). The
 * loop's idle time is read from this thread every 2 ms, as the pool reads it. Run it beside CPU
 * hogs (`node -e 'for(;;){}' &`, twice) to see what load does to the holds.
 *
 *   node --import tsx bench/parse-held-first.ts [queued|slow-store] [threads=5] [WAIT=300]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { newThread } from '../src/parse/thread.js';
import { watchLoopHold } from './lib/loop-hold.js';
import type { FromWorker, ParseTask } from '../src/parse/parse-protocol.js';

const kind = process.argv[2] === 'slow-store' ? 'slow-store' : 'queued';
const threads = Number(process.argv[3] ?? 5);
const wait = kind === 'slow-store' ? Number(process.argv[4] ?? 300) : 0;

const head = ['From: Alice <alice@sender.test>', 'To: x@example.com', 'Subject: q', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', ''];
const text = ['--b', 'Content-Type: text/plain', '', 'hello world, plain text\r\n'.repeat(12_000)];
const attachment = (name: string) => [
  '--b',
  `Content-Type: application/octet-stream; name="${name}"`,
  'Content-Transfer-Encoding: base64',
  '',
  randomBytes(300_000).toString('base64').replace(/.{76}/g, '$&\r\n'),
];
const message =
  kind === 'queued'
    ? [...head, ...attachment('a.bin'), ...text, '--b', 'Content-Type: text/html', '', '<p>see</p>', '--b--', ''].join('\r\n')
    : [...head, ...text, ...attachment('a.bin'), ...attachment('b.bin'), '--b--', ''].join('\r\n');

/** One task on `w`: [its whole time, the longest time its loop was not idle], in ms. */
async function measure(w: Worker, path: string): Promise<[number, number]> {
  const { port1, port2 } = new MessageChannel();
  const t0 = performance.now();
  const hold = watchLoopHold(w, 2);
  const opened = new Map<number, number>();
  const done = new Promise<void>((resolve) =>
    port1.on('message', (m: FromWorker) => {
      if (m.t === 'open') opened.set(m.index, performance.now());
      else if (m.t === 'chunk') {
        const ack = () => port1.postMessage({ t: 'ack', index: m.index });
        const left = opened.get(m.index)! + wait - performance.now();
        if (left > 0) setTimeout(ack, left);
        else ack();
      } else if (m.t === 'end') port1.postMessage({ t: 'stored', index: m.index, error: null });
      else if (m.t === 'done' || m.t === 'error') resolve();
    }),
  );
  const task: ParseTask = { raw: null, path, json: null, keepAttachments: true, keepBodies: true, auth: null, port: port2 };
  w.postMessage(task, [port2]);
  await done;
  const longest = hold.stop();
  const end = performance.now();
  await new Promise((r) => w.once('message', r)); // 'idle'
  return [Math.round(end - t0), Math.round(longest)];
}

const dir = mkdtempSync(join(tmpdir(), 'parse-held-first-'));
try {
  const path = join(dir, 'm.eml');
  writeFileSync(path, message);
  console.log(`${kind} (${(message.length / 1e6).toFixed(2)} MB${wait ? `, each attachment's acks held ${wait} ms` : ''}): parse ms / longest ms without the loop idle`);
  console.log('first task (cold)   second        third');
  for (let i = 0; i < threads; i++) {
    const w = newThread('parse-worker');
    await new Promise((r) => w.once('message', r)); // 'ready'
    const row: string[] = [];
    for (let j = 0; j < 3; j++) row.push((await measure(w, path)).join(' / ').padEnd(14));
    console.log(row.join('  '));
    await w.terminate();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
