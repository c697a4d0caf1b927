import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { dkimSign, dkimVerify } from 'mailauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PARSE_OFF_THREAD_BYTES } from '../../src/inbound/accept.js';
import { authCheck } from '../../src/inbound/auth-check.js';
import { spoolDir } from '../../src/inbound/spool.js';
import { STUCK_GRACE_MS } from '../../src/parse/auth-pool.js';
import { PARSE_THREADS, parseThreadAuthTasks, parseThreadsEnded } from '../../src/parse/parse-pool.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { blobFiles, readAll, sendTimed, subjects } from './harness.js';

/**
 * A big signed message is parsed and DKIM-checked on a parse thread (src/parse/parse-pool.ts).
 * Some of mailauth's synchronous work grows with the square of what a message holds: its header
 * split copies a field's lines for each continuation line (one field folded into 60,000 lines:
 * 15.4 s), its lookup of a signature's h= names scans every field per name (40,000 over 40,000:
 * 18.5 s). Nothing on the thread runs meanwhile, computeAuth's own timer included: the checks
 * answered temperror at the pool's bound, but the thread was kept, and with it the parse that
 * the 250 waits for (the folded message below: about a minute for the transactions, the queue
 * behind them waiting as long), and the pool had a thread fewer for everyone. Now the thread is
 * ended at the bound and a new thread serves the queue. The message whose checks held it was
 * refused with 451 then (its parse died with the thread; the sender retries, and meets the same
 * bound every time); it starts over on the new thread without its checks, and is stored with
 * temperror.
 */
const AUTH_TIMEOUT_MS = 5000;
/** Lines of the folded field, names in h=: 15 s and ~40 s of mailauth on an idle core, more on a busy one. */
const HELD_N = 60_000;

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const zone = [
  { name: 'sel._domainkey.sender.test', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` },
  { name: 'sender.test', type: 'TXT' as const, value: 'v=spf1 ip4:127.0.0.1 -all' },
  { name: '_dmarc.sender.test', type: 'TXT' as const, value: 'v=DMARC1; p=reject' },
];

/** A ~400 KB attachment (over INLINE_BLOB_BYTES: streamed to the blob store while parsing), and HTML. */
function body(subject: string): string {
  const b64 = randomBytes(300_000).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    'From: Alice <alice@sender.test>',
    'To: x@example.com',
    `Subject: ${subject}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: application/octet-stream; name="a.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    b64,
    '--b',
    'Content-Type: text/html',
    '',
    '<p>see <a href="https://sender.test/">attached</a></p>',
    '--b--',
    '',
  ].join('\r\n');
}

async function signed(subject: string): Promise<string> {
  const key = { signingDomain: 'sender.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const message = body(subject);
  const { signatures, errors } = await dkimSign(message, { ...key, signatureData: [key] });
  expect(errors).toEqual([]);
  return signatures + message;
}

/**
 * A signed message whose first field is folded into `n` lines: mailauth's header split copies a
 * field's lines for each continuation line (the square of them: 60,000 lines, 15.4 s on an idle
 * core). It runs as soon as the verifier has the header block, before the body is read, so the
 * parse (which needs the thread's loop to read on) is still owed when the hold starts.
 */
async function holding(subject: string, n: number): Promise<string> {
  return `X-Folded: a\r\n${' x\r\n'.repeat(n)}${await signed(subject)}`;
}

/**
 * For a failure message: whether the stored raw message is the one sent, and mailauth's own DKIM
 * verdict on the stored bytes (outside the pool). Once in CI the queued message was stored with
 * dkim=fail; not reproduced here in 20 runs of this file, with and without CPU hogs beside it.
 */
async function dkimCheckOfStored(rawKey: string, sent: string): Promise<string> {
  const got = await readAll(await deps!.blobs.get(rawKey));
  const resolver = async (name: string) => (name === zone[0]!.name ? [[zone[0]!.value]] : []);
  const { results } = await dkimVerify(got, { resolver: resolver as never });
  return `stored raw ${got.equals(Buffer.from(sent, 'latin1')) ? 'is' : 'is NOT'} the message sent (${got.length} / ${sent.length} bytes); mailauth on it: ${JSON.stringify(results.map((r) => r.status))}`;
}

let dns: TestDnsServer;
let deps: TestDeps | undefined;
let smtp: RunningSmtp | undefined;
beforeAll(async () => {
  dns = await startDnsServer(zone);
});
afterAll(() => dns.close());
afterEach(async () => {
  await smtp?.close();
  await deps?.cleanup();
  smtp = deps = undefined;
});

const send = (raw: string) => sendTimed(smtp!, raw);

/**
 * A signed message behind `n` one-byte fields and a DKIM-Signature whose h= names `n` absent
 * fields: mailauth looks each name up among all the fields (40,000 over 40,000: 18.5 s). That
 * runs at the end of the message, when the parse has usually answered already.
 */
async function lookingUp(subject: string, n: number): Promise<string> {
  const names = Array.from({ length: n }, () => 'z').join(':');
  return `${'X:1\r\n'.repeat(n)}DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.test; s=sel; h=from:${names}; bh=AAAA; b=AAAA\r\n${await signed(subject)}`;
}

/**
 * Within this of sending, a held message is answered and the message queued behind it stored:
 * twice the bound (a task that took a thread whose previous task's checks then held it starts
 * over once on another thread, where it may meet a hold again), and slack for a loaded machine
 * (12 s: 6 s was missed by 166 ms at load 8, a clean-clone run beside other test runs). Still far
 * under what one hold lasts when nothing ends it (HELD_N = 60,000: ~40 s; 40,000 took 18.5 s).
 */
const BOUND_MS = 2 * (AUTH_TIMEOUT_MS + STUCK_GRACE_MS) + 12_000;

/**
 * One holding message per parse thread, then an ordinary big signed one queued behind them.
 * Returns the replies, after checking what every case shares: the threads are ended, the holding
 * messages are stored with temperror, the queued message and two later ones stored (checked, on
 * new threads), all within the bound, and nothing is left over (no other rows, blobs or spool files).
 */
async function holdEveryThread(make: (subject: string) => Promise<string>) {
  deps = testDeps({ AUTH_CHECKS: 'true', DNS_SERVERS: dns.address });
  const { user, domain } = await seedUserAndDomain(deps, 'example.com');
  await addRoute(deps, { userId: user.id, domainId: domain.id });
  smtp = await startSmtp(deps, { checkAuth: authCheck(deps) });
  // Warm: mailauth is loaded on a parse thread, and the checks run there.
  const warm = await send(await signed('warm'));
  expect(warm.code, warm.response).toBe(250);
  const tasksBefore = parseThreadAuthTasks();
  const endedBefore = parseThreadsEnded();

  const held = await Promise.all(Array.from({ length: PARSE_THREADS }, (_, i) => make(`held ${i}`)));
  expect(held[0]!.length).toBeGreaterThan(PARSE_OFF_THREAD_BYTES);
  const queued = await signed('queued behind');
  const t0 = performance.now();
  // Every parse thread takes one holding message; the ordinary one waits for a thread.
  const holdingReplies = held.map((raw) => send(raw));
  await new Promise((r) => setTimeout(r, 300));
  const queuedReply = send(queued);
  const replies = await Promise.all(holdingReplies);
  const after = await queuedReply;

  for (const r of replies) expect(r.at - t0, r.response).toBeLessThan(BOUND_MS);
  // Each holding message stored (on the old code: 451 when its parse had not answered yet).
  for (const r of replies) {
    expect(r.code, r.response).toBe(250);
    expect((await deps.repos.messages.getById(/msg_\w+/.exec(r.response)![0]!))?.auth).toMatchObject({ dkim: 'temperror' });
  }
  expect(after.code, after.response).toBe(250);
  expect(after.at - t0, 'the queued message, stored').toBeLessThan(BOUND_MS);
  // (A task that took a thread before another task's checks held it starts over elsewhere: more tasks, and threads ended, than messages.)
  expect(parseThreadsEnded() - endedBefore).toBeGreaterThanOrEqual(1);
  expect(parseThreadAuthTasks() - tasksBefore).toBeGreaterThanOrEqual(PARSE_THREADS + 1);
  const stored = (await deps.repos.messages.getById(/msg_\w+/.exec(after.response)![0]!))!;
  expect(stored.auth, await dkimCheckOfStored(stored.rawKey, queued)).toMatchObject({ dkim: 'pass', spf: 'pass' });
  expect(stored.parsed.attachments).toHaveLength(1);

  // The new threads keep serving big signed mail.
  const later = await Promise.all([signed('later 1'), signed('later 2')].map(async (raw) => send(await raw)));
  for (const r of later) expect(r.code, r.response).toBe(250);

  // Stored: exactly the messages answered 250 (a held one's subject may be past the parser's header limits: by id).
  const idOf = (r: { response: string }) => /msg_\w+/.exec(r.response)![0]!;
  const ids = (deps.db.prepare('SELECT id FROM messages').all() as { id: string }[]).map((r) => r.id);
  expect(ids.sort()).toEqual([warm, after, ...later, ...replies].map(idOf).sort());
  expect(subjects(deps)).toEqual(expect.arrayContaining(['warm', 'queued behind', 'later 1', 'later 2']));
  expect(blobFiles(deps).filter((f) => !ids.some((i) => f.includes(i))), 'blobs of no stored message').toEqual([]);
  expect(readdirSync(spoolDir(deps.config.dataDir)).filter((f) => !f.startsWith('.'))).toEqual([]);
  return { replies, ended: parseThreadsEnded() - endedBefore };
}

describe('a check that holds its parse thread', () => {
  it('held before its parse answered (a field folded into 60,000 lines): the thread is ended at the bound, the message parsed again without its checks and stored with temperror; the queue behind it and later big mail are served', async () => {
    const { replies, ended } = await holdEveryThread((subject) => holding(subject, HELD_N));
    expect(replies).toHaveLength(PARSE_THREADS);
    // Each held its own thread (or one that had already been ended under another).
    expect(ended).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('held at the end of the message (an h= of 60,000 names over as many fields): the thread is ended at the bound, the message stored with temperror; the queue is served', async () => {
    const { replies } = await holdEveryThread((subject) => lookingUp(subject, HELD_N));
    expect(replies).toHaveLength(PARSE_THREADS);
  }, 90_000);
});
