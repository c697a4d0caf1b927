import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authenticate, dkimSign, dkimVerify, type DKIMVerifyResult, type DNSResolver } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAuth, createAuthResolver } from '../../src/parse/auth.js';
import { dkimVerifyUnsigned, headerBlockEnd } from '../../src/parse/dkim-unsigned.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

// mailauth itself is the oracle: the shortcut must answer exactly what its full run answers.

const nothing: DNSResolver = (name) => Promise.reject(Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));

/** Everything dkimVerify returns, its non-enumerable properties included. */
const whole = (r: DKIMVerifyResult) => {
  const o = r as DKIMVerifyResult & { headers?: unknown; seal?: unknown };
  return { ...r, headers: o.headers, arc: o.arc, seal: o.seal, keys: Object.keys(r) };
};

function emlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? emlFiles(join(dir, e.name)) : e.name.endsWith('.eml') ? [join(dir, e.name)] : [],
  );
}
const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

const unsigned = [
  'From: Alice <alice@sender.test>\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nbody\r\n',
  'From: a@x.test, "B" <b@y.test>\r\nReturn-Path: <bounce@z.test>\r\nSubject: two From addresses\r\n\r\nbody\r\n',
  'From: folded\r\n <alice@sender.test>\r\nSubject: folded From\r\n\r\nbody\r\n',
  'From: a@x.test\r\nFrom: b@y.test\r\n\r\ntwo From headers\r\n',
  'Subject: no From at all\r\n\r\nbody\r\n',
  'From: alice@sender.test\r\nSubject: empty body\r\n\r\n',
  '\r\n\r\nno headers\r\n',
  'From: alice@sender.test\r\nX-Dkim-Signature-Note: not a signature\r\nContent-Type: text/plain\r\n\r\nbody\nwith bare LF in the body\n',
  'From: =?utf-8?B?w4FsaWNl?= <alice@sender.test>\r\nSubject: encoded\r\n\r\nbody\r\n',
];

describe('dkimVerifyUnsigned against mailauth dkimVerify', () => {
  it.each(unsigned.map((m, i) => [i, m] as const))('answers exactly what the full run does (message %i)', async (_i, m) => {
    const raw = Buffer.from(m, 'latin1');
    const fast = await dkimVerifyUnsigned(raw, nothing);
    expect(fast).toBeDefined();
    expect(whole(fast!)).toEqual(whole(await dkimVerify(raw, { resolver: nothing })));
  });

  it('answers exactly what the full run does for every unsigned message of the test corpora, as stored and with CRLF', async () => {
    let shortcut = 0;
    let total = 0;
    for (const file of emlFiles('test')) {
      for (const raw of [readFileSync(file), crlf(readFileSync(file))]) {
        total++;
        const fast = await dkimVerifyUnsigned(raw, nothing);
        if (!fast) continue;
        shortcut++;
        expect(whole(fast), file).toEqual(whole(await dkimVerify(raw, { resolver: nothing })));
      }
    }
    // Nearly every message in CRLF form is unsigned and takes the shortcut; the rest ran in full.
    expect(shortcut).toBeGreaterThan(total / 3);
  });

  it('leaves to the full run a message with a DKIM-Signature, an ARC set, a bare LF in its header block, or no blank line', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const key = { signingDomain: 'sender.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) };
    const message = unsigned[0]!;
    const { signatures } = await dkimSign(message, { ...key, signatureData: [key] });
    const arcHeaders =
      'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=relay.test; s=sel; t=1; b=AAAA\r\n' +
      'ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=relay.test; s=sel; h=from; bh=AAAA; b=AAAA\r\n' +
      'ARC-Authentication-Results: i=1; relay.test; spf=pass\r\n';
    for (const m of [signatures + message, arcHeaders + message, 'From: a@x.test\nSubject: s\r\n\r\nb\r\n', 'From: a@x.test\r\nSubject: no end']) {
      expect(await dkimVerifyUnsigned(Buffer.from(m), nothing), m.slice(0, 40)).toBeUndefined();
    }
    expect(headerBlockEnd(Buffer.from('A: b\r\n\r\nbody'))).toBe(8);
  });
});

describe('computeAuth on unsigned and signed mail, against mailauth authenticate()', () => {
  const SENDER_IP = '192.0.2.10';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const zone = [
    { name: 'sel._domainkey.sender.test', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` },
    { name: 'sender.test', type: 'TXT' as const, value: `v=spf1 ip4:${SENDER_IP} -all` },
    { name: '_dmarc.sender.test', type: 'TXT' as const, value: 'v=DMARC1; p=reject' },
    { name: '_dmarc.y.test', type: 'TXT' as const, value: 'v=DMARC1; p=none' },
  ];
  let dns: TestDnsServer;
  beforeAll(async () => void (dns = await startDnsServer(zone)));
  afterAll(() => dns.close());

  const check = async (m: string, remoteIp = SENDER_IP) => {
    const resolver = createAuthResolver([dns.address], 2000);
    const env = { remoteIp, helo: 'mail.sender.test', mailFrom: 'bounces@sender.test' };
    const ours = await computeAuth(Buffer.from(m, 'latin1'), env, { resolver, mta: 'mx.mailhook.test', timeoutMs: 5000 });
    const theirs = await authenticate(Buffer.from(m, 'latin1'), { ip: remoteIp, helo: env.helo, sender: env.mailFrom, mta: 'mx.mailhook.test', resolver: resolver as DNSResolver });
    return { ours, theirs };
  };

  it.each(unsigned.map((m, i) => [i, m] as const))('gives what mailauth gives for unsigned message %i', async (_i, m) => {
    for (const ip of [SENDER_IP, '198.51.100.7']) {
      const { ours, theirs } = await check(m, ip);
      expect(ours.dkim).toBe('none');
      expect(ours).toEqual({
        spf: theirs.spf && theirs.spf.status.result,
        dkim: theirs.dkim.results[0]!.status.result,
        // mailauth answers false for no From address (we say none) and for several (no single policy: permerror).
        dmarc: theirs.dmarc ? theirs.dmarc.status.result : /^From:/im.test(m) ? 'permerror' : 'none',
        arc: (theirs.arc as { status: { result: string } }).status.result,
      });
    }
  });

  it('still checks signed mail in full: pass, and fail once the body changed', async () => {
    const key = { signingDomain: 'sender.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) };
    const message = unsigned[0]!;
    const { signatures } = await dkimSign(message, { ...key, signatureData: [key] });
    expect((await check(signatures + message)).ours).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    const tampered = (await check(signatures + message.replace('body', 'b0dy'))).ours;
    expect(tampered).toEqual({ spf: 'pass', dkim: 'fail', dmarc: 'pass', arc: 'none' });
  });
});
