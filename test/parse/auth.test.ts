import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { computeAuth, createAuthResolver } from '../../src/parse/auth.js';
import { startDnsServer, type DnsRecord, type TestDnsServer } from '../helpers/dns-server.js';

const SENDER_IP = '192.0.2.10';
const env = { remoteIp: SENDER_IP, helo: 'mail.sender.test', mailFrom: 'bounces@sender.test' };
// 2048 bits: the key record is longer than one 255-byte TXT string and one 512-byte UDP answer.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

const zone: DnsRecord[] = [
  { name: 'sel._domainkey.sender.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${p}` },
  { name: 'sender.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
  { name: 'mail.sender.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
  { name: '_dmarc.sender.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
];

const message = [
  'From: Alice <alice@sender.test>',
  'To: bob@example.com',
  'Subject: Invoice 42',
  'Date: Mon, 24 Nov 2025 10:00:00 +0000',
  'Message-ID: <42@sender.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Please find the invoice attached.',
  '',
].join('\r\n');

let signed: string;
let dns: TestDnsServer;
const opts = () => ({ resolver: createAuthResolver([dns.address], 2000), mta: 'mx.mailhook.test', timeoutMs: 5000 });

beforeAll(async () => {
  dns = await startDnsServer(zone);
  const key = { signingDomain: 'sender.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) };
  // mailauth signs with signatureData only; its .d.ts also wants the key fields at the top level.
  const { signatures, errors } = await dkimSign(message, { ...key, signatureData: [key] });
  expect(errors).toEqual([]);
  signed = signatures + message;
});
afterAll(() => dns.close());
beforeEach(() => {
  dns.set(zone);
  dns.setSilent(false);
});

describe('computeAuth', () => {
  it('passes SPF, DKIM and DMARC for a signed message from a permitted IP', async () => {
    expect(await computeAuth(Buffer.from(signed), env, opts())).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    expect(dns.queries).toContainEqual({ name: 'sel._domainkey.sender.test', type: 'TXT' });
  });

  it('reads the message from a stream', async () => {
    const result = await computeAuth(Readable.from([Buffer.from(signed)]), env, opts());
    expect(result).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
  });

  it('fails DKIM when the body was changed; DMARC still passes on aligned SPF', async () => {
    const tampered = signed.replace('the invoice', 'the 1nvoice');
    expect(await computeAuth(Buffer.from(tampered), env, opts())).toEqual({ spf: 'pass', dkim: 'fail', dmarc: 'pass', arc: 'none' });
  });

  it('fails DKIM when a signed header was changed, and DMARC when SPF fails too', async () => {
    const tampered = signed.replace('Subject: Invoice 42', 'Subject: Invoice 43');
    const result = await computeAuth(Buffer.from(tampered), { ...env, remoteIp: '198.51.100.7' }, opts());
    expect(result).toEqual({ spf: 'fail', dkim: 'fail', dmarc: 'fail', arc: 'none' });
  });

  it('checks the HELO name for the null sender of a bounce', async () => {
    const result = await computeAuth(Buffer.from(signed), { ...env, mailFrom: '' }, opts());
    expect(result.spf).toBe('pass');
  });

  it('reports none when nothing is published and nothing is signed', async () => {
    dns.set([]);
    expect(await computeAuth(Buffer.from(message), env, opts())).toEqual({ spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none' });
  });

  it('reports a signature whose key is not published as neutral (mailauth: "no key")', async () => {
    dns.set([]);
    expect(await computeAuth(Buffer.from(signed), env, opts())).toEqual({ spf: 'none', dkim: 'neutral', dmarc: 'none', arc: 'none' });
  });

  it('answers temperror within the timeout when the resolver never answers', async () => {
    const never = () => new Promise<never>(() => {});
    const started = performance.now();
    const result = await computeAuth(Buffer.from(signed), env, { resolver: never, mta: 'mx', timeoutMs: 300 });
    const elapsed = performance.now() - started;
    expect(result).toEqual({ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror', arc: 'temperror' });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1300);
  });

  it('keeps the checks that finished before the timeout', async () => {
    // DKIM's key lookup hangs; SPF's answers at once.
    const resolver = createAuthResolver([dns.address], 2000);
    const slowKeys = (name: string, rrtype: string) =>
      name.includes('_domainkey') ? new Promise<never>(() => {}) : resolver(name, rrtype);
    const result = await computeAuth(Buffer.from(signed), env, { resolver: slowKeys, mta: 'mx', timeoutMs: 500 });
    expect(result).toEqual({ spf: 'pass', dkim: 'temperror', dmarc: 'temperror', arc: 'temperror' });
  });

  it('maps a DNS server that stops answering to temperror through the real resolver', async () => {
    dns.setSilent(true);
    const started = performance.now();
    const result = await computeAuth(Buffer.from(signed), env, {
      resolver: createAuthResolver([dns.address], 300),
      mta: 'mx',
      timeoutMs: 5000,
    });
    expect(result).toMatchObject({ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror' });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('never throws, even when the message stream fails', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk went away'));
      },
    });
    const result = await computeAuth(broken, env, opts());
    expect(result).toEqual({ spf: 'pass', dkim: 'temperror', dmarc: 'temperror', arc: 'temperror' });
  });
});

describe('createAuthResolver with DNS_CACHE_SECONDS', () => {
  const asked = (name: string, type = 'TXT') => dns.queries.filter((q) => q.name === name && q.type === type).length;
  const code = (p: Promise<unknown>) => p.then(() => 'answered', (err: NodeJS.ErrnoException) => err.code);

  it('checks a second message from the same sender without asking DNS again', async () => {
    const cached = { resolver: createAuthResolver([dns.address], 2000, { cacheSeconds: 60 }), mta: 'mx', timeoutMs: 5000 };
    const pass = { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' };
    const before = dns.queries.length;
    expect(await computeAuth(Buffer.from(signed), env, cached)).toEqual(pass);
    const first = dns.queries.length - before;
    expect(first).toBeGreaterThanOrEqual(3); // SPF, the DKIM key, DMARC
    expect(await computeAuth(Buffer.from(signed), env, cached)).toEqual(pass);
    expect(dns.queries.length - before).toBe(first);
    // Without the cache every message asks again.
    const uncached = { ...cached, resolver: createAuthResolver([dns.address], 2000, { cacheSeconds: 0 }) };
    expect(await computeAuth(Buffer.from(signed), env, uncached)).toEqual(pass);
    expect(await computeAuth(Buffer.from(signed), env, uncached)).toEqual(pass);
    expect(dns.queries.length - before).toBe(3 * first);
  });

  it('sends one query for identical lookups in flight', async () => {
    const resolve = createAuthResolver([dns.address], 2000, { cacheSeconds: 60 });
    const before = asked('sender.test');
    const answers = await Promise.all(Array.from({ length: 5 }, () => resolve('sender.test', 'TXT')));
    for (const a of answers) expect(a).toEqual([[`v=spf1 ip4:${SENDER_IP} -all`]]);
    expect(asked('sender.test') - before).toBe(1);
    // Another type of the same name is another question.
    expect(await code(resolve('sender.test', 'MX'))).toBe('ENODATA');
    expect(asked('sender.test', 'MX')).toBeGreaterThanOrEqual(1);
  });

  it('keeps NXDOMAIN and NODATA like records, each caller getting its own error', async () => {
    const resolve = createAuthResolver([dns.address], 2000, { cacheSeconds: 60 });
    const before = [asked('nowhere.test'), asked('_dmarc.sender.test', 'MX')];
    expect(await code(resolve('nowhere.test', 'TXT'))).toBe('ENOTFOUND');
    expect(await code(resolve('NOWHERE.test', 'TXT'))).toBe('ENOTFOUND');
    expect(await code(resolve('_dmarc.sender.test', 'MX'))).toBe('ENODATA');
    expect(await code(resolve('_dmarc.sender.test', 'MX'))).toBe('ENODATA');
    expect([asked('nowhere.test') - before[0]!, asked('_dmarc.sender.test', 'MX') - before[1]!]).toEqual([1, 1]);
  });

  it('never keeps a timeout: the next lookup asks again and gets the answer', async () => {
    const resolve = createAuthResolver([dns.address], 300, { cacheSeconds: 60 });
    dns.setSilent(true);
    expect(await code(resolve('sender.test', 'TXT'))).toBe('ETIMEOUT');
    dns.setSilent(false);
    // (c-ares's own retry of the timed-out query may still arrive: the answer is what tells.)
    expect(await resolve('sender.test', 'TXT')).toEqual([[`v=spf1 ip4:${SENDER_IP} -all`]]);
  });

  it('asks again once the answer is older than DNS_CACHE_SECONDS, and sees the new record', async () => {
    let clock = 1_000_000;
    const resolve = createAuthResolver([dns.address], 2000, { cacheSeconds: 60, now: () => clock });
    expect(await resolve('sender.test', 'TXT')).toEqual([[`v=spf1 ip4:${SENDER_IP} -all`]]);
    dns.set([{ name: 'sender.test', type: 'TXT', value: 'v=spf1 -all' }]);
    clock += 59_000;
    expect(await resolve('sender.test', 'TXT')).toEqual([[`v=spf1 ip4:${SENDER_IP} -all`]]);
    clock += 1_000;
    expect(await resolve('sender.test', 'TXT')).toEqual([['v=spf1 -all']]);
  });

  it('keeps at most cacheEntries answers, the oldest going first', async () => {
    const resolve = createAuthResolver([dns.address], 2000, { cacheSeconds: 60, cacheEntries: 2 });
    const before = [asked('sender.test'), asked('mail.sender.test')];
    await resolve('sender.test', 'TXT');
    await resolve('mail.sender.test', 'TXT');
    await resolve('_dmarc.sender.test', 'TXT'); // pushes sender.test out
    await resolve('mail.sender.test', 'TXT');
    await resolve('sender.test', 'TXT');
    expect([asked('sender.test') - before[0]!, asked('mail.sender.test') - before[1]!]).toEqual([2, 1]);
  });

  it("reuses a sender's SPF and DMARC verdicts: the next message does not look their records up at all", async () => {
    const inner = createAuthResolver([dns.address], 2000, { cacheSeconds: 60 });
    const calls: string[] = [];
    const resolver = Object.assign((name: string, rrtype: string) => (calls.push(`${rrtype} ${name}`), inner(name, rrtype)), { verdicts: inner.verdicts });
    const checks = { resolver, mta: 'mx', timeoutMs: 5000 };
    const pass = { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' };
    expect(await computeAuth(Buffer.from(signed), env, checks)).toEqual(pass);
    expect(calls).toEqual(expect.arrayContaining(['TXT sender.test', 'TXT _dmarc.sender.test']));
    calls.length = 0;
    expect(await computeAuth(Buffer.from(signed), env, checks)).toEqual(pass);
    expect(calls).toEqual(['TXT sel._domainkey.sender.test']); // the signature is still verified
    // Another IP is another SPF question (and then another DMARC one: SPF no longer passes).
    calls.length = 0;
    expect(await computeAuth(Buffer.from(signed), { ...env, remoteIp: '192.0.2.99' }, checks)).toEqual({ ...pass, spf: 'fail' });
    expect(calls).toContain('TXT sender.test');
  });

  it('keeps a verdict no longer than the first of the answers it was made from', async () => {
    let clock = 1_000_000;
    const checks = { resolver: createAuthResolver([dns.address], 2000, { cacheSeconds: 60, now: () => clock }), mta: 'mx', timeoutMs: 5000 };
    const spfOf = async () => (await computeAuth(Buffer.from(message), env, checks)).spf;
    await checks.resolver('sender.test', 'TXT'); // this answer is kept until 60 s from now
    clock += 30_000;
    expect(await spfOf()).toBe('pass'); // made from it, 30 s before it expires
    dns.set([{ name: 'sender.test', type: 'TXT', value: 'v=spf1 -all' }, ...zone.slice(2)]);
    clock += 29_000;
    expect(await spfOf()).toBe('pass');
    clock += 1_000;
    expect(await spfOf()).toBe('fail');
  });

  it('never keeps a temperror verdict', async () => {
    const checks = { resolver: createAuthResolver([dns.address], 300, { cacheSeconds: 60 }), mta: 'mx', timeoutMs: 5000 };
    dns.setSilent(true);
    expect((await computeAuth(Buffer.from(message), env, checks)).spf).toBe('temperror');
    dns.setSilent(false);
    expect((await computeAuth(Buffer.from(message), env, checks)).spf).toBe('pass');
  });

  it('hands each caller its own copy of the records', async () => {
    const resolve = createAuthResolver([dns.address], 2000, { cacheSeconds: 60 });
    const first = (await resolve('sender.test', 'TXT')) as string[][];
    first[0]![0] = 'changed';
    first.push(['more']);
    expect(await resolve('sender.test', 'TXT')).toEqual([[`v=spf1 ip4:${SENDER_IP} -all`]]);
  });
});
