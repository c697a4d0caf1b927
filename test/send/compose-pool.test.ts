import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors.js';
import { compose, type Composition } from '../../src/send/compose.js';
import { composeOffThread, composerThread } from '../../src/send/compose-pool.js';
import { engine } from '../helpers/deps.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { sendingDomain, staticResolver } from '../helpers/sending.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const record = { name: 'sel1._domainkey.example.com', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
const signer = { domain: 'example.com', selector: 'sel1', privateKey };
const base: Composition = { from: 'app@example.com', to: ['alice@dest.test'], cc: [], bcc: [], replyTo: [], subject: 'Hello', headers: {}, attachments: [] };
const date = new Date('2026-12-07T05:00:00Z');
/** The signature and the boundaries' random parts left out: what two compiles of one message share. */
const fixed = (bytes: Buffer) =>
  bytes
    .toString('latin1')
    .replace(/^DKIM-Signature:.*\r\n(?:[ \t].*\r\n)*/, '')
    .replaceAll(/_NmP-[0-9a-f]+-Part/g, 'BOUNDARY');

/** The next message starts a new thread, which takes a while to load its modules before it can answer. */
async function coldThread(): Promise<void> {
  await composerThread()?.worker.terminate();
  expect(composerThread()).toBeNull();
}

async function stopsWith503(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect((err as HttpError).status).toBe(503);
}

describe('composing on the composer thread (compose-pool.ts)', () => {
  it('makes the bytes compose() makes, signed (dkim=pass)', async () => {
    const plain = { ...base, text: 'x'.repeat(76).concat('\n').repeat(53) };
    const withParts = {
      ...base,
      text: 'see attached ü',
      html: '<p>see</p>',
      attachments: [{ filename: 'a.bin', content: Buffer.from([0, 13, 10, 46, 13, 255]) }, { filename: 'slice.txt', content: Buffer.from('a slice of a larger buffer\n'.repeat(3)).subarray(3, 40) }],
    };
    // One part, no boundary: the same bytes to the last, the RSA signature (PKCS #1 v1.5) included.
    expect((await composeOffThread(plain, signer, '<1@example.com>', date)).equals(await compose(plain, signer, '<1@example.com>', date))).toBe(true);
    const off = await composeOffThread(withParts, signer, '<2@example.com>', date);
    expect(fixed(off)).toBe(fixed(await compose(withParts, signer, '<2@example.com>', date)));
    const verified = await dkimVerify(off, { resolver: staticResolver([record]) });
    expect(verified.results[0]).toMatchObject({ status: { result: 'pass' }, signingDomain: 'example.com' });
  });

  it('a thread that dies fails the messages it held with a 503, and the next message gets a new thread', async () => {
    // Ended before it can answer: the thread starts cold (it loads its modules first).
    await coldThread();
    const held = [1, 2, 3].map((n) => composeOffThread({ ...base, text: `m${n}` }, signer, `<${n}@example.com>`, date));
    const first = composerThread()!;
    expect(first.pending).toBe(3);
    await first.worker.terminate();
    await Promise.all(held.map(stopsWith503));
    const again = await composeOffThread({ ...base, text: 'after' }, signer, '<4@example.com>', date);
    expect(again.toString()).toContain('after');
    expect(composerThread()!.worker).not.toBe(first.worker);
  });

  it('a thread that holds a message past the deadline is ended: 503, then a new thread', async () => {
    // A message takes more than 1 ms there (the RSA signature alone does), so the deadline comes first.
    await stopsWith503(composeOffThread({ ...base, text: 'late' }, signer, '<5@example.com>', date, 1));
    expect((await composeOffThread({ ...base, text: 'on time' }, signer, '<6@example.com>', date)).toString()).toContain('on time');
  });
});

describe('POST /v1/send when the composer thread dies', () => {
  let api: TestApi;
  afterEach(() => api?.deps.cleanup());

  it('answers 503 and queues nothing; the next request is sent', async () => {
    api = testApi();
    const { token } = await signup(api);
    await sendingDomain(api, token, 'example.com');
    const mail = { from: 'support@example.com', to: ['alice@dest.test'], subject: 'Hello', text: 'Hi Alice' };
    await coldThread();
    const res = api.call('POST', '/v1/send', { token, body: mail });
    // Killed while it holds this request's message.
    while (!composerThread()?.pending) await new Promise((r) => setImmediate(r));
    await composerThread()!.worker.terminate();
    const failed = await res;
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatch(/composer thread stopped/);
    if (engine === 'sqlite') expect(api.deps.db.prepare('SELECT count(*) AS n FROM sends').get()).toEqual({ n: 0 });
    const ok = await api.call('POST', '/v1/send', { token, body: mail });
    expect(ok.status).toBe(202);
    if (engine === 'sqlite') expect(api.deps.db.prepare('SELECT count(*) AS n FROM sends').get()).toEqual({ n: 1 });
  });
});
