/**
 * Scenario 3, big mail: one message with a BENCH_BIG_MB (40) MB attachment and one with
 * BENCH_SMALL_ATTACHMENTS (1,000) small ones, each through the whole pipeline (SMTP → store →
 * webhook) and then downloaded back through its signed link, bytes compared. Figure: the peak
 * RSS of the Mailhook process (VmHWM, reset before each message) minus its idle RSS (after one
 * small message went through). File store, and the S3 store against s3rver on loopback when
 * src/store/s3-blob-store.ts exists. Baseline: smtp-server + mailparser receiving the same
 * messages (attachments drained, nothing stored). MAX_MESSAGE_BYTES=64 MiB: a 40 MB attachment
 * is ~55 MB of base64, over the 50 MiB default.
 * Mailhook runs as production runs it (the Dockerfile, `npm start`): the compiled dist/ (`npm run
 * build` first, done here), no TypeScript loader, as bench/memory.ts does. From source, every
 * thread the first big message starts (a parse thread) would also load tsx and transpile its
 * module graph: tens of MB that no deployed server pays (bench/README.md, big mail, 2026-12-07).
 * Node's default heap; BENCH_MAILHOOK_NODE_FLAGS adds the Dockerfile's flags when wanted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAX_ATTACHMENTS } from '../src/parse/parse-message.js';
import { benchDir, benchEnv, buildDist, seedRoutes, startMailhook } from './lib/mailhook.js';
import { multipartMessage, plainMessage, sha256, type Attachment } from './lib/messages.js';
import { procStats, profileFlags, resetPeak, sampleRss, sleep, startListening, startNode, type Child } from './lib/proc.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, progress, ratio, report, type Row } from './lib/report.js';
import { sendMessage } from './lib/smtp-client.js';

const BASELINE = fileURLToPath(new URL('./lib/baseline-server.ts', import.meta.url));
const S3_STORE = fileURLToPath(new URL('../src/store/s3-blob-store.ts', import.meta.url));
const BIG_MB = envInt('BENCH_BIG_MB', 40);
const SMALL_COUNT = envInt('BENCH_SMALL_ATTACHMENTS', 1000);
const MAX_BYTES = String(64 * 1024 * 1024);
const MB = 1024 * 1024;
const TO = 'big@bench.test';

interface Case {
  name: string;
  message: Buffer;
  attachments: Attachment[];
}

function cases(): Case[] {
  const big = { filename: 'big.bin', content: randomBytes(BIG_MB * 1_000_000) };
  const small = Array.from({ length: SMALL_COUNT }, (_, i) => ({ filename: `part-${i}.bin`, content: randomBytes(512 + (i % 1024)) }));
  return [
    { name: `${BIG_MB} MB attachment`, message: multipartMessage(1, TO, [big]), attachments: [big] },
    { name: `${SMALL_COUNT} small attachments`, message: multipartMessage(2, TO, small), attachments: small },
  ];
}

interface Outcome {
  growthMb: number;
  intact: boolean;
  detail: string;
}

/** Watches the peak RSS of `pid` over `run` (VmHWM when it can be reset, else sampling). */
async function peakDuring(pid: number, run: () => Promise<void>): Promise<{ idle: number; peak: number }> {
  const idle = procStats(pid).rss;
  const canReset = resetPeak(pid);
  const sampler = sampleRss(pid);
  await run();
  const sampled = sampler.stop();
  return { idle, peak: canReset ? procStats(pid).peakRss : sampled };
}

interface Payload {
  data: { attachments: { index: number; size: number; sha256: string; url: string }[]; raw_url: string };
}

/** Downloads `url` (following a redirect to S3), returning its sha256 and size. */
async function download(url: string): Promise<{ sha: string; size: number }> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha: hash.digest('hex'), size };
}

async function throughMailhook(store: 'fs' | 's3', c: Case, receiver: Receiver, port: number, pid: number): Promise<Outcome> {
  const seen = receiver.bodies.length;
  progress(`big mail: ${store} store, ${c.name}`);
  let intact = false;
  let detail = '';
  let ingestPeak = 0;
  const { idle, peak } = await peakDuring(pid, async () => {
    const reply = await sendMessage(port, TO, c.message);
    if (!reply.startsWith('250')) throw new Error(`${store} ${c.name}: ${reply}`);
    const deadline = Date.now() + 180_000;
    while (receiver.bodies.length <= seen && Date.now() < deadline) await sleep(50);
    progress(`big mail: ${store} webhook ${receiver.bodies.length > seen ? 'arrived' : 'missing'}`);
    const body = receiver.bodies[seen];
    if (!body) throw new Error(`${store} ${c.name}: no webhook`);
    ingestPeak = procStats(pid).peakRss;
    const p = JSON.parse(body) as Payload;
    // Every stored attachment's link gives back exactly the bytes sent (Mailhook stores the
    // first MAX_ATTACHMENTS as objects), and raw_url the whole message.
    let ok = p.data.attachments.length === Math.min(c.attachments.length, MAX_ATTACHMENTS);
    for (const a of p.data.attachments) {
      const want = c.attachments[a.index]!;
      const got = await download(a.url);
      ok &&= got.sha === sha256(want.content) && got.size === want.content.length && a.sha256 === got.sha;
    }
    const raw = await download(p.data.raw_url);
    ok &&= raw.sha === sha256(c.message);
    intact = ok;
    detail = `${p.data.attachments.length} attachment links + raw_url ${ok ? 'intact' : 'CORRUPT'}`;
  });
  return { growthMb: (peak - idle) / MB, intact, detail: `${detail}; peak growth by the webhook (before downloads) ${fmt((ingestPeak - idle) / MB, 1)} MB` };
}

async function mailhook(store: 'fs' | 's3', all: Case[]): Promise<Outcome[]> {
  const receiver = await startReceiver({ keepBodies: true });
  let s3: { env: Record<string, string>; close(): Promise<void> } | null = null;
  if (store === 's3') {
    const { startS3Server, S3RVER_CREDENTIALS } = await import('../test/helpers/s3-server.js');
    const server = await startS3Server('mailhook-bench');
    s3 = { env: { ...server.env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey }, close: () => server.close() };
  }
  const mh = await startMailhook(`big-${store}`, async (deps) => await seedRoutes(deps, 'bench.test', [receiver.url]), { MAX_MESSAGE_BYTES: MAX_BYTES, ...s3?.env }, { built: true });
  try {
    // Idle = after one small message went all the way through, its raw link fetched.
    await sendMessage(mh.smtpPort, TO, plainMessage(0, TO));
    while (receiver.bodies.length < 1) await sleep(20);
    await download((JSON.parse(receiver.bodies[0]!) as Payload).data.raw_url);
    await sleep(1000);
    const out: Outcome[] = [];
    for (const c of all) out.push(await throughMailhook(store, c, receiver, mh.smtpPort, mh.child.pid));
    return out;
  } finally {
    await mh.stop();
    await receiver.close();
    await s3?.close();
  }
}

async function baseline(all: Case[]): Promise<number[]> {
  const dir = benchDir('base-big');
  let started: { child: Child; ports: number[] } | undefined;
  try {
    started = await startListening(1, ([p]) => startNode(BASELINE, ['parse', String(p)], benchEnv({ DATA_DIR: dir, MAX_MESSAGE_BYTES: MAX_BYTES }), profileFlags('baseline-big')));
    const { child } = started;
    const port = started.ports[0]!;
    await sendMessage(port, TO, plainMessage(0, TO));
    await sleep(1000);
    const out: number[] = [];
    for (const c of all) {
      progress(`big mail: baseline, ${c.name}`);
      const { idle, peak } = await peakDuring(child.pid, async () => {
        const reply = await sendMessage(port, TO, c.message);
        if (!reply.startsWith('250')) throw new Error(`baseline ${c.name}: ${reply}`);
      });
      out.push((peak - idle) / MB);
    }
    return out;
  } finally {
    await started?.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bigMail(): Promise<void> {
  buildDist();
  const all = cases();
  const base = await baseline(all);
  const stores: ('fs' | 's3')[] = existsSync(S3_STORE) ? ['fs', 's3'] : ['fs'];
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const store of stores) {
    const results = await mailhook(store, all);
    results.forEach((r, i) => {
      rows.push({
        scenario: `big mail, ${all[i]!.name}, ${store === 'fs' ? 'file' : 'S3 (s3rver)'} store: peak RSS growth (MB) vs smtp-server+mailparser`,
        mailhook: fmt(r.growthMb, 1),
        baseline: fmt(base[i]!, 1),
        ratio: ratio(r.growthMb, base[i]!),
        target: '≤ 64 MB, bytes intact',
        met: r.growthMb <= 64 && r.intact ? 'met' : 'NOT MET',
      });
      notes.push(`${store} / ${all[i]!.name}: ${r.detail}`);
    });
  }
  if (stores.length === 1) {
    rows.push({ scenario: 'big mail, S3 store', mailhook: 'not available', baseline: '—', ratio: '—', target: '≤ 64 MB', met: '—' });
  }
  report('Big mail', rows, [...notes, `MAX_MESSAGE_BYTES=${MAX_BYTES} (a ${BIG_MB} MB attachment is ~${Math.round((BIG_MB * 4) / 3 * 1.027)} MB of base64).`]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('big mail', bigMail);
