import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Composing and DKIM-signing on a thread of its own: nodemailer's composer and the RSA signature
 * are ~1.5 ms of CPU a message, which on the event loop every API request, SMTP session and the
 * outbound worker share would bound the rate of POST /v1/send (README, "Sending benchmark").
 * Plain CommonJS evaluated in the thread (nodemailer only), so it runs the same from src/ and
 * dist/. Keys are parsed once per PEM in the thread. A thread that dies fails the jobs it held
 * (their requests answer 500, nothing was stored) and the next job starts a new one.
 */
const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey } = require('node:crypto');
const MailComposer = require(workerData.composer);
const DKIM = require(workerData.dkim);
const keys = new Map();
function keyOf(pem) {
  let key = keys.get(pem);
  if (!key) {
    if (keys.size >= 1000) keys.clear();
    keys.set(pem, (key = createPrivateKey(pem)));
  }
  return key;
}
async function sign(message, s) {
  const signed = new DKIM({ domainName: s.domain, keySelector: s.selector, privateKey: keyOf(s.privateKey) }).sign(message);
  const chunks = [];
  for await (const chunk of signed) chunks.push(chunk);
  const out = Buffer.concat(chunks);
  // The signer passes the message through unchanged when the key cannot sign: never send it unsigned.
  if (out.length <= message.length) throw new Error('DKIM signing produced no signature');
  return out;
}
// Buffers arrive as plain Uint8Arrays: nodemailer takes attachment content as a Buffer.
const asBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
parentPort.on('message', async ({ id, mail, raw, signer }) => {
  try {
    for (const a of (mail && mail.attachments) || []) a.content = asBuffer(a.content);
    const message = mail ? await new MailComposer(mail).compile().build() : asBuffer(raw);
    parentPort.postMessage({ id, out: await sign(message, signer) });
  } catch (err) {
    parentPort.postMessage({ id, error: (err && err.message) || String(err) });
  }
});
`;

/** Who signs: the domain, its selector, and its private key (PEM). */
export interface Signer {
  domain: string;
  selector: string;
  privateKey: string;
}

type Answer = { id: number; out?: Uint8Array; error?: string };
interface Job {
  resolve(out: Buffer): void;
  reject(err: Error): void;
}

const resolve = createRequire(import.meta.url).resolve;
let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, Job>();

function died(w: Worker, err: Error): void {
  if (worker !== w) return;
  worker = null;
  for (const job of pending.values()) job.reject(err);
  pending.clear();
}

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(CODE, { eval: true, workerData: { composer: resolve('nodemailer/lib/mail-composer'), dkim: resolve('nodemailer/lib/dkim') } });
  w.unref();
  w.on('message', (m: Answer) => {
    const job = pending.get(m.id);
    pending.delete(m.id);
    // Idle, the thread does not keep the process alive.
    if (pending.size === 0) w.unref();
    if (!job) return;
    if (m.out) job.resolve(Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength));
    else job.reject(new Error(m.error ?? 'compose failed'));
  });
  w.on('error', (err) => died(w, err));
  w.on('exit', (code) => died(w, new Error(`compose thread exited with code ${code}`)));
  worker = w;
  return w;
}

/** Runs one job on the thread: `mail` (nodemailer composer options) to compose then sign, or `raw` to sign as it is. */
export function onComposeThread(job: { mail: object; signer: Signer } | { raw: Buffer; signer: Signer }): Promise<Buffer> {
  return new Promise((res, rej) => {
    const id = nextId++;
    const w = thread();
    pending.set(id, { resolve: res, reject: rej });
    w.ref();
    w.postMessage({ id, ...job });
  });
}

/** Ends the thread (shutdown, tests); jobs it held fail, a later job starts a new one. */
export async function stopComposeThread(): Promise<void> {
  const w = worker;
  if (!w) return;
  died(w, new Error('compose thread stopped'));
  await w.terminate();
}
