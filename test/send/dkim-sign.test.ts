import { createHook } from 'node:async_hooks';
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { sign } from '../../src/send/compose.js';
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

  it('makes the RSA signature on the thread pool (an asynchronous sign request), not on the event loop', async () => {
    const types: string[] = [];
    const hook = createHook({
      init(_id, type) {
        types.push(type);
      },
    }).enable();
    try {
      await sign(Buffer.from('From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n'), signer);
    } finally {
      hook.disable();
    }
    expect(types).toContain('SIGNREQUEST');
  });
});
