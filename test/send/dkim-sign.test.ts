import { createHash, generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { sign } from '../../src/send/compose.js';
import { relaxedBodyHash } from '../../src/send/dkim-sign.js';
import { staticResolver } from '../helpers/sending.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const record = { name: 'sel1._domainkey.example.com', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
const signer = { domain: 'example.com', selector: 'sel1', privateKey };

async function verify(raw: Buffer) {
  const r = await dkimVerify(raw, { resolver: staticResolver([record]) });
  return r.results.map((x) => ({ status: x.status.result, domain: x.signingDomain, h: (x as { signingHeaders?: { keys?: string } }).signingHeaders?.keys }));
}

describe('DKIM signing (relaxed/relaxed, rsa-sha256)', () => {
  // Messages the canonicalization must get right: forwards carry inbound mail as it came.
  const cases: Record<string, string> = {
    'CRLF, folded and repeated headers, trailing blank lines':
      'From: A <a@example.com>\r\nTo: b@example.org,\r\n\t c@example.org\r\nSubject:   many    spaces\t \r\nsubject: the last one is signed\r\nDate: Mon, 7 Dec 2026 00:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nline  with \t runs   \r\n\r\nsecond\r\n\r\n\r\n',
    'bare LF line ends and a CR inside a line': 'From: a@example.com\nSubject: lf\n\nfirst  line \nbare\rcr\n\n',
    'no final line break': 'From: a@example.com\r\nSubject: x\r\n\r\nno end',
    'empty body': 'From: a@example.com\r\nSubject: x\r\n\r\n',
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`verifies as pass with mailauth: ${name}`, async () => {
      const signed = await sign(Buffer.from(text, 'latin1'), signer);
      expect(signed.subarray(signed.length - text.length).toString('latin1')).toBe(text);
      expect(signed.toString('latin1').replace(/\r\n[ \t]/g, ' ')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example.com; q=dns\/txt; s=sel1;/);
      const [result] = await verify(signed);
      expect(result?.status).toBe('pass');
      expect(result?.domain).toBe('example.com');
    });
  }

  it('signs the From, Subject and the other listed headers, not unlisted ones', async () => {
    const signed = await sign(Buffer.from('From: a@example.com\r\nSubject: s\r\nX-Other: o\r\nMIME-Version: 1.0\r\n\r\nbody\r\n'), signer);
    const h = /\bh=([^;]+);/.exec(signed.toString().replace(/\r\n[ \t]/g, ' '))?.[1];
    expect(h).toBe('from:subject:mime-version');
    // Changing a signed header breaks the signature; the verifier really checks it.
    const tampered = Buffer.from(signed.toString().replace('Subject: s', 'Subject: t'));
    expect((await verify(tampered))[0]?.status).not.toBe('pass');
  });

  // Where the RSA signature is made (the signing thread, not the event loop): sign-thread.test.ts.

  it('hashes the relaxed body as RFC 6376 §3.4.4 reads, on random bodies and across the 64 KB slices', () => {
    // The rules written out with regular expressions on the latin1 text: one independent reading of them.
    const reference = (body: Buffer) => {
      const s = body
        .toString('latin1')
        .replace(/[ \t]+(?=\r?\n|$)/g, '')
        .replace(/[ \t]+/g, ' ')
        .replace(/\r?\n/g, '\r\n')
        .replace(/(\r\n)+$/, '');
      return createHash('sha256').update(s ? `${s}\r\n` : '', 'latin1').digest('base64');
    };
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = ['a', 'b', '.', ' ', '\t', '\r', '\n', '\r\n', '\x00', '\xff'];
    const bodies = Array.from({ length: 3000 }, () => Buffer.from(Array.from({ length: random(40) }, () => alphabet[random(alphabet.length)]).join(''), 'latin1'));
    // Across a slice boundary: a CR, whitespace or an empty line as the last byte of the first 64 KB.
    for (const edge of ['\r\n', '\r', ' \r\n', '\n\n', ' ', 'x\r']) bodies.push(Buffer.from(`${'y'.repeat(65_536 - 1)}${edge}${'z \r\n'.repeat(20_000)}\r\n\r\n`, 'latin1'));
    for (const body of bodies) expect([body.toString('latin1'), relaxedBodyHash(body)]).toEqual([body.toString('latin1'), reference(body)]);
  });
});
