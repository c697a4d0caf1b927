import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { parseBig, PARSE_OFF_THREAD_BYTES } from '../../src/inbound/accept.js';
import type { ParseOutcome } from '../../src/parse/parse-message.js';
import { parseOffThread, parseThreadTasks } from '../../src/parse/parse-pool.js';
import { CORPUS_DIR } from '../corpus/compare.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { MIME_CASES } from '../hostile/mime-cases.js';

/**
 * A big (spooled) message is parsed on the event loop while it is ordinary (src/parse/ordinary.ts):
 * no parse thread, whose isolate and heap were most of big mail's RSS (bench/README.md, big mail,
 * session 10). One that is not stops before the costly step, its blobs are discarded, and a parse
 * thread parses it as before: the same outcome as the thread gives, and the loop stays free.
 */
const CRLF = '\r\n';
const BOUND_MS = 500;
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/.{76}/g, `$&${CRLF}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Part {
  headers: string[];
  body: string;
}
const attachment = (name: string, bytes: Buffer): Part => ({
  headers: [`Content-Type: application/octet-stream; name="${name}"`, 'Content-Transfer-Encoding: base64'],
  body: b64(bytes),
});
const text = (type: string, body: string, extra: string[] = []): Part => ({ headers: [`Content-Type: ${type}; charset=utf-8`, ...extra], body });

function multipart(parts: Part[], top: string[] = []): Buffer {
  const lines = ['From: Alice <alice@sender.test>', 'To: x@example.com', 'Subject: big', ...top, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', ''];
  for (const p of parts) lines.push('--b', ...p.headers, '', p.body);
  lines.push('--b--', '');
  return Buffer.from(lines.join(CRLF));
}

function nestedAround(depth: number, inner: Part): Buffer {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += `Content-Type: multipart/mixed; boundary="n${i}"${CRLF}${CRLF}--n${i}${CRLF}`;
    close = `${CRLF}--n${i}--${CRLF}` + close;
  }
  return Buffer.from(`From: alice@sender.test${CRLF}To: x@example.com${CRLF}Subject: deep${CRLF}` + open + inner.headers.join(CRLF) + CRLF + CRLF + inner.body + close);
}

const fiveMb = randomBytes(5_000_000);
/** [name, message]: each past one bound of ORDINARY, most after a 5 MB attachment already stored. */
const PATHOLOGICAL: [string, () => Buffer][] = [
  [
    '200,000 encoded-word headers',
    () => Buffer.from(['From: a@sender.test', 'To: x@example.com', 'Subject: stall', ...Array.from({ length: 200_000 }, (_, i) => `X-W: =?utf-8?Q?caf=C3=A9_${i}?=`), '', 'body', ''].join(CRLF)),
  ],
  ['160,000 <div><a> after an attachment', () => multipart([attachment('a.bin', fiveMb), text('text/html', '<div><a href="https://example.com/xxxxxxxxxxxxx">'.repeat(160_000))])],
  // Kept in memory for the database (INLINE_BLOB_BYTES each, four per message): the stopped parse's
  // copies must not stay in the row's blobs nor use up the thread's share.
  [
    'four attachments kept inline, then 160,000 <div><a>',
    () => multipart([...[0, 1, 2, 3].map((i) => attachment(`s${i}.bin`, randomBytes(200_000))), text('text/html', '<div><a href="https://example.com/x">'.repeat(160_000))]),
  ],
  ['a 2 MB text body after an attachment', () => multipart([attachment('a.bin', fiveMb), text('text/plain', 'hello world, plain text\r\n'.repeat(80_000))])],
  ['a 600-field header block in a part after an attachment', () => multipart([attachment('a.bin', fiveMb), text('text/plain', 'hi', Array.from({ length: 600 }, (_, i) => `X-F-${i}: ${i}`))])],
  ['300 KB of top-level header', () => multipart([attachment('a.bin', fiveMb)], [`X-Long: ${'v'.repeat(300_000)}`])],
  ['parts nested 150 deep', () => nestedAround(150, attachment('deep.bin', fiveMb))],
];

/** mailparser dates a message without a Date field by the clock: the parse's own moment. */
function undated<T extends { parsed: { date: number } }>(outcome: T): T {
  return Date.now() - outcome.parsed.date < 10 * 60_000 ? { ...outcome, parsed: { ...outcome.parsed, date: 0 } } : outcome;
}

/** The thread's outcome for `raw` and the bytes of each attachment it hands over: today's path. */
async function onThread(raw: Buffer): Promise<{ outcome: ParseOutcome; blobs: Map<number, string> }> {
  const blobs = new Map<number, string>();
  const put = async (i: number, content: Readable) => {
    const chunks: Buffer[] = [];
    for await (const c of content as AsyncIterable<Buffer>) chunks.push(c);
    blobs.set(i, sha(Buffer.concat(chunks)));
  };
  return { outcome: await parseOffThread({ raw, path: null }, put, 'test'), blobs };
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

let deps: TestDeps | undefined;
let smtp: RunningSmtp | undefined;
let worker: DeliveryWorker | undefined;
let receiver: WebhookReceiver | undefined;
let s3: S3Server | undefined;
afterEach(async () => {
  await smtp?.close();
  await worker?.stop();
  await receiver?.close();
  await deps?.cleanup();
  await s3?.close();
  smtp = deps = worker = receiver = s3 = undefined;
});

async function start(env: Record<string, string> = {}) {
  deps = testDeps({ MAX_MESSAGE_BYTES: String(64 * 1024 * 1024), ...env });
  receiver = await startWebhookReceiver();
  // No route: every message goes to the domain's catch-all webhook.
  await seedUserAndDomain(deps, 'example.com', { webhookUrl: receiver.url });
  worker = createDeliveryWorker(deps);
  worker.start();
  smtp = await startSmtp(deps, { onStored: worker.kick });
  return deps;
}

/**
 * An SMTP client on a thread of its own, so that sending 55 MB is not charged to the event loop
 * under test: one transaction with `workerData.raw` (dot-stuffed there); posts back the reply to DATA.
 */
const CLIENT = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const steps = ['EHLO client.test', 'MAIL FROM:<alice@sender.test>', 'RCPT TO:<x@example.com>', 'DATA'];
const socket = net.connect(workerData.port, '127.0.0.1');
let buf = '';
let step = -1;
socket.on('data', (d) => {
  buf += d.toString('latin1');
  if (!/(^|\\r\\n)\\d{3} [^\\r\\n]*\\r\\n$/.test(buf)) return;
  const reply = buf.trim();
  buf = '';
  step++;
  if (step < steps.length) return socket.write(steps[step] + '\\r\\n');
  if (step > steps.length) {
    parentPort.postMessage(reply);
    return socket.end('QUIT\\r\\n');
  }
  const text = Buffer.from(workerData.raw).toString('latin1').replace(/\\r\\n\\./g, '\\r\\n..');
  socket.write(Buffer.from(text, 'latin1'));
  socket.write(text.endsWith('\\r\\n') ? '.\\r\\n' : '\\r\\n.\\r\\n');
});
`;

function sendFromThread(port: number, raw: Buffer): Promise<string> {
  const worker = new Worker(CLIENT, { eval: true, workerData: { port, raw } });
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: string) => void worker.terminate().then(() => resolve(reply)));
    worker.once('error', reject);
  });
}

/** Sends `raw` over SMTP, watching the event loop's longest delay; the stored message. */
async function send(d: TestDeps, raw: Buffer) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const response = await sendFromThread(smtp!.port, raw);
  h.disable();
  expect(response).toMatch(/^250 /);
  const id = /msg_\w+/.exec(response)![0]!;
  return { stored: (await d.repos.messages.getById(id))!, loopMs: h.max / 1e6 };
}

async function blobSha(d: TestDeps, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  const body = await d.blobs.get(key);
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return sha(Buffer.concat(chunks));
}

/** What the parse stored, as the thread's outcome has it (the reply is extracted afterwards). */
async function expectSameAsThread(d: TestDeps, stored: Awaited<ReturnType<typeof send>>['stored'], raw: Buffer) {
  const { outcome, blobs } = await onThread(raw);
  const { reply: _reply, ...parsed } = stored.parsed;
  expect(undated({ parsed }).parsed).toEqual(undated(outcome).parsed);
  expect(stored.parseError).toBe(outcome.error);
  const attachments = await d.repos.messages.attachments(stored.id);
  expect(attachments.map((a) => a.index)).toEqual([...blobs.keys()]);
  for (const a of attachments) expect(await blobSha(d, a.blobKey), a.filename).toBe(blobs.get(a.index));
}

/** The keys of `stored` that live in the BlobStore (not inline in the database), sorted. */
async function inBlobStore(d: TestDeps, stored: { id: string; rawKey: string }): Promise<string[]> {
  const keys = [stored.rawKey, ...(await d.repos.messages.attachments(stored.id)).map((a) => a.blobKey)];
  return (await d.repos.blobs.external(keys)).sort();
}

describe('big ordinary mail is parsed on the event loop', () => {
  it('a 40 MB attachment over SMTP: no parse thread, stored byte for byte, the webhook arrives', async () => {
    const d = await start();
    const content = randomBytes(40_000_000);
    const raw = multipart([text('text/plain', 'see attached'), attachment('big.bin', content)]);
    const tasks = parseThreadTasks();
    const { stored, loopMs } = await send(d, raw);
    expect(parseThreadTasks() - tasks, 'parse thread tasks').toBe(0);
    expect(stored.parsed.text).toBe('see attached');
    expect(stored.parsed.attachments).toMatchObject([{ filename: 'big.bin', size: 40_000_000, sha256: sha(content) }]);
    const [att] = await d.repos.messages.attachments(stored.id);
    expect(await blobSha(d, att!.blobKey)).toBe(sha(content));
    expect(await blobSha(d, stored.rawKey)).toBe(sha(raw));
    expect(await receiver!.waitFor(1, 30_000)).toHaveLength(1);
    expect(loopMs).toBeLessThan(BOUND_MS);
  }, 120_000);
});

describe('big mail that is not ordinary stops, and a parse thread parses it as before', () => {
  it.each(PATHOLOGICAL)('%s: on the thread, the outcome the thread gives, no orphan blobs, the loop free', async (_, make) => {
    const raw = make();
    expect(raw.length).toBeGreaterThan(PARSE_OFF_THREAD_BYTES);
    const d = await start();
    const tasks = parseThreadTasks();
    const { stored, loopMs } = await send(d, raw);
    expect(parseThreadTasks() - tasks, 'parse thread tasks').toBe(1);
    expect(loopMs).toBeLessThan(BOUND_MS);
    await expectSameAsThread(d, stored, raw);
    // The BlobStore holds what the rows name, nothing the stopped parse wrote.
    expect(filesUnder(join(d.config.dataDir, 'blobs'))).toEqual(await inBlobStore(d, stored));
    expect(await receiver!.waitFor(1, 30_000)).toHaveLength(1);
  }, 120_000);

  it.each([PATHOLOGICAL[1]!, PATHOLOGICAL[2]!])('on S3, %s: a stopped parse leaves no object behind', async (_, make) => {
    s3 = await startS3Server();
    const d = await start(s3.env);
    const raw = make();
    const tasks = parseThreadTasks();
    const { stored } = await send(d, raw);
    expect(parseThreadTasks() - tasks).toBe(1);
    await expectSameAsThread(d, stored, raw);
    expect((await s3.keys()).sort()).toEqual(await inBlobStore(d, stored));
  }, 120_000);
});

describe('the event loop parse gives the thread outcome for every message', () => {
  const inbound = (raw: Buffer) => ({
    raw: { buffer: raw, open: () => Readable.from([raw], { objectMode: false }) },
    size: raw.length,
    envelope: { mailFrom: 'a@sender.test', rcptTo: ['x@example.com'], remoteIp: '127.0.0.1', helo: 'sender.test', tls: false },
  });
  const messages: [string, () => Buffer][] = [
    ...readdirSync(CORPUS_DIR)
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .map((f): [string, () => Buffer] => [f, () => readFileSync(join(CORPUS_DIR, f))]),
    ...MIME_CASES.map((c): [string, () => Buffer] => [`hostile: ${c.name}`, c.raw]),
    ...PATHOLOGICAL,
  ];
  it('corpus files, the hostile MIME cases and the shapes above: the same parsed JSON, the same attachment bytes', async () => {
    let stopped = 0;
    for (const [name, make] of messages) {
      const raw = make();
      const blobs = new Map<number, string>();
      let discarded = 0;
      const put = async (i: number, content: Readable) => {
        const chunks: Buffer[] = [];
        for await (const c of content as AsyncIterable<Buffer>) chunks.push(c);
        blobs.set(i, sha(Buffer.concat(chunks)));
      };
      const tasks = parseThreadTasks();
      const got = await parseBig(inbound(raw), put, async () => {
        discarded++;
        blobs.clear();
      });
      if (parseThreadTasks() > tasks) stopped++;
      expect(discarded, name).toBe(parseThreadTasks() - tasks);
      const want = await onThread(raw);
      expect(undated(got), name).toEqual(undated(want.outcome));
      expect(blobs, name).toEqual(want.blobs);
    }
    // Every shape built to stop does; most real mail does not.
    expect(stopped).toBeGreaterThanOrEqual(PATHOLOGICAL.length);
    expect(stopped).toBeLessThan(messages.length / 4);
  }, 300_000);
});
