import { dkimVerify, type DNSResolver } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { mime, parseRaw } from './parse-raw.js';

/**
 * An addr-spec with whitespace (or a comment) around a dot of its domain, `user@evil.example
 * .bank.example`: obs-domain (RFC 5322 §4.4) reads it as user@evil.example.bank.example, and so
 * does mailparser's addressparser since nodemailer 10.4.1 (GHSA-3q53-mvfw-q9v8; mailparser
 * 3.14.5 ships 10.6.0). mailauth, which finds the From domain DMARC checks, reads it as
 * user@evil.example (its own nodemailer 8). The joined address is spelled nowhere in the header,
 * so verbatimOnly() reports it as '': the payload never names a bank.example address that
 * DMARC did not check. mailparser 3.14.2 reported user@evil.example.
 */
const nothing: DNSResolver = (name) => Promise.reject(Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));

const message = (from: string) => mime(`From: ${from}`, 'To: x@example.com, y@evil.example .bank.example', 'Subject: s', '', 'body');

describe('addresses with spacing around a dot of the domain', () => {
  for (const from of ['user@evil.example .bank.example', 'Name <user@evil.example .bank.example>', 'user@evil.example (c) .bank.example']) {
    it(`From: ${from} gives no address, and never one DMARC did not check`, async () => {
      const raw = message(from);
      const { parsed } = await parseRaw(raw);
      expect(parsed.from.address).toBe('');
      expect(parsed.to.map((a) => a.address)).toEqual(['x@example.com', '']);
      const { headerFrom } = await dkimVerify(raw, { resolver: nothing });
      expect(headerFrom).not.toContain('user@evil.example.bank.example');
    });
  }

  it('an address without such spacing is kept (and is the one DMARC checks)', async () => {
    const raw = message('Name <user@evil.example>');
    const { parsed } = await parseRaw(raw);
    expect(parsed.from).toEqual({ address: 'user@evil.example', name: 'Name' });
    expect((await dkimVerify(raw, { resolver: nothing })).headerFrom).toEqual(['user@evil.example']);
  });
});
