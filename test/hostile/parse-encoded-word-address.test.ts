import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addRoute, hostileSmtp, type HostileSmtp } from './harness.js';

/**
 * mailparser decodes
 * RFC 2047 encoded words inside an addr-spec, which RFC 2047 §5 forbids: the header
 * `From: =?utf-8?Q?ceo?=@=?utf-8?Q?bank.example?=` comes out as from.address
 * "ceo@bank.example". The raw header names no such address (DMARC, computed on the raw header,
 * does not check bank.example's policy), yet the webhook's from.address and every `from`
 * route filter see it: a sender can pose as any address to the receiving app.
 * Fixed: in addresses(), keep an address only if it appears verbatim (case-insensitively) in the
 * raw header line it was parsed from; otherwise report it as '' (the name may stay decoded).
 * E.g. pass the raw value from parser.headerLines (or parser.headers.get('from') before
 * decoding) and `if (!raw.toLowerCase().includes(address.toLowerCase())) address = ''`.
 */
const raw = readFileSync(new URL('../fixtures/hostile/parse-encoded-word-address-forgery.eml', import.meta.url));

let h: HostileSmtp;
beforeEach(async () => {
  h = await hostileSmtp();
});
afterEach(() => h.close());

describe('parse-encoded-word-address-forgery', () => {
  it('an address spelled in encoded words is not an address: from and reply_to are empty, a from filter does not fire', async () => {
    const trusted = await addRoute(h.deps, h.owner, {
      match: '*@example.com',
      action: 'webhook',
      destination: 'http://127.0.0.1:9/payments',
      secret: 'whsec_dGVzdA==',
      filters: { from: 'bank.example' },
      priority: 1,
    });
    const info = await h.smtp.transport.sendMail({ envelope: { from: 'mallory@evil.test', to: ['x@example.com'] }, raw });
    const id = /msg_\w+/.exec(info.response ?? '')![0];
    const m = (await h.deps.repos.messages.getById(id))!;
    expect(m.parsed.from.address).toBe('');
    expect(m.parsed.replyTo.map((a) => a.address)).not.toContain('ceo@bank.example');
    expect((await h.deps.repos.deliveries.forMessage(id)).filter((d) => d.routeId === trusted.id)).toEqual([]);
  });
});
