import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedUserAndDomain } from '../helpers/deps.js';
import { addRoute, hostileSmtp, RawClient, stillServes, type HostileSmtp } from './harness.js';

/**
 * RCPT TO (DESIGN §1 invariant 2): accepted only when the address is really at a verified
 * domain of ours and a route or catch-all takes it; never relayed anywhere else, whatever
 * routing syntax the address carries.
 */
let h: HostileSmtp;
afterEach(() => h.close());

/** One RCPT on a fresh transaction; the reply line. */
async function rcpt(address: string): Promise<string> {
  const c = await RawClient.open(h.port);
  await c.send('EHLO c.test\r\n');
  await c.send('MAIL FROM:<a@sender.test>\r\n');
  const reply = await c.send(`RCPT TO:${address}\r\n`);
  c.destroy();
  return reply;
}

/** A whole transaction to `address`; the DATA reply (or the refusal of RCPT). */
async function deliver(address: string, subject: string): Promise<string> {
  const c = await RawClient.open(h.port);
  await c.send('EHLO c.test\r\n');
  await c.send('MAIL FROM:<a@sender.test>\r\n');
  const r = await c.send(`RCPT TO:${address}\r\n`);
  if (!r.startsWith('250')) {
    c.destroy();
    return r;
  }
  await c.send('DATA\r\n');
  const reply = await c.send(`Subject: ${subject}\r\n\r\nhi\r\n.\r\n`);
  c.destroy();
  return reply;
}

describe('only one exact route: support@example.com', () => {
  beforeEach(async () => {
    h = await hostileSmtp({}, { match: 'support@example.com' });
  });

  const cases: [string, RegExp, string][] = [
    ['<support@example.com>', /^250 /, 'the route itself'],
    ['<SUPPORT@EXAMPLE.COM>', /^250 /, 'mixed case is the same address'],
    ['<support@Example.Com>', /^250 /, 'mixed-case domain'],
    ['<"support"@example.com>', /^250 /, 'a redundantly quoted local part is the same address'],
    ['<@relay.test,@other.test:support@example.com>', /^250 /, 'a source route is ignored (RFC 5321 §4.1.2)'],
    ['<support%other.test@example.com>', /^550 5\.1\.1 /, '% is a plain local-part character: no route matches'],
    ['<other.test!support@example.com>', /^550 5\.1\.1 /, '! is a plain local-part character: no route matches'],
    ['<support+tag@example.com>', /^550 5\.1\.1 /, 'an exact route takes no +tag'],
    ['<"support@example.com"@other.test>', /^5\d\d /, 'a quoted @ does not move the address into our domain'],
    ['<support@example.com@other.test>', /^501 /, 'two @'],
    ['<support@example.com.>', /^501 /, 'trailing dot refused by the parser'],
    ['<support@[127.0.0.1]>', /^550 /, 'an address literal is not our domain'],
    ['<support@example.com.other.test>', /^550 /, 'a domain that only starts like ours'],
    ['<support@xample.com>', /^550 /, 'a different domain'],
    ['<@example.com:support@other.test>', /^550 /, 'a source route through our domain to someone else: not relayed'],
    ['<postmaster>', /^550 /, 'domainless postmaster: no domain of ours'],
    ['<"sup port"@example.com>', /^501 /, 'a quoted space'],
    ['<support@exa_mple.com>', /^5\d\d /, 'underscore domain'],
    ['<support\u200b@example.com>', /^501 /, 'zero-width space'],
  ];
  it.each(cases)('RCPT TO:%s → %s (%s)', async (address, want) => {
    expect(await rcpt(address)).toMatch(want);
  });

  it('a source-routed recipient is stored as the plain address, and nothing else is', async () => {
    expect(await deliver('<@relay.test:support@example.com>', 'routed')).toMatch(/^250 .*msg_/);
    const [m] = await h.deps.repos.messages.list({ userId: h.owner.userId, limit: 5 });
    expect(m!.envelope.rcptTo).toEqual(['support@example.com']);
    await expect(stillServes(h)).rejects.toMatchObject({ responseCode: 550 }); // after@ has no route here
  });
});

describe('a wildcard route: *@example.com', () => {
  beforeEach(async () => {
    h = await hostileSmtp();
  });

  it('takes x%other.test@example.com as a local part at example.com and stores it for example.com only', async () => {
    const other = await seedUserAndDomain(h.deps, 'other.test');
    await addRoute(h.deps, { userId: other.user.id, domainId: other.domain.id }, { match: '*@other.test' });
    expect(await deliver('<x%other.test@example.com>', 'percent')).toMatch(/^250 /);
    expect(await deliver('<other.test!x@example.com>', 'bang')).toMatch(/^250 /);
    const mine = await h.deps.repos.messages.list({ userId: h.owner.userId, limit: 5 });
    expect(mine.map((m) => m.envelope.rcptTo[0]).sort()).toEqual(['other.test!x@example.com', 'x%other.test@example.com']);
    expect(await h.deps.repos.messages.list({ userId: other.user.id, limit: 5 })).toEqual([]);
  });

  it('refuses a domain that is added but not verified, and one verified by nobody', async () => {
    const pending = await seedUserAndDomain(h.deps, 'pending.test');
    await addRoute(h.deps, { userId: pending.user.id, domainId: pending.domain.id }, { match: '*@pending.test' });
    h.deps.db.prepare("UPDATE domains SET status = 'pending' WHERE id = ?").run(pending.domain.id);
    expect(await rcpt('<x@pending.test>')).toMatch(/^550 5\.1\.1 /);
    expect(await rcpt('<x@nobody.test>')).toMatch(/^550 5\.1\.1 /);
  });

  it('IDN: the verified punycode domain takes its Unicode, upper-case and punycode spellings, not look-alikes', async () => {
    const idn = await seedUserAndDomain(h.deps, 'xn--bcher-kva.example'); // bücher.example
    await addRoute(h.deps, { userId: idn.user.id, domainId: idn.domain.id }, { match: '*@xn--bcher-kva.example' });
    expect(await rcpt('<x@bücher.example>')).toMatch(/^250 /);
    expect(await rcpt('<x@BÜCHER.EXAMPLE>')).toMatch(/^250 /);
    expect(await rcpt('<x@xn--bcher-kva.example>')).toMatch(/^250 /);
    expect(await rcpt('<x@bu\u0308cher.example>')).toMatch(/^250 /); // NFD: IDNA normalises to the same name
    expect(await rcpt('<x@bucher.example>')).toMatch(/^550 /);
    expect(await rcpt('<x@xn--bcher-kva.example.evil.test>')).toMatch(/^550 /);
    // Cyrillic "е" (U+0435) in place of Latin "e": another domain (xn--xample-…).
    expect(await rcpt('<x@\u0435xample.com>')).toMatch(/^550 /);
  });

  it('the recipient cap answers 452 for the excess only; duplicates do not count; DATA goes to the accepted ones', async () => {
    await h.close();
    h = await hostileSmtp({ MAX_RECIPIENTS: '3' });
    const c = await RawClient.open(h.port);
    await c.send('EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\n');
    await c.until(/^250 .*Accepted/);
    const replies: string[] = [];
    for (const r of ['a@example.com', 'b@example.com', 'A@EXAMPLE.COM', 'c@example.com', 'd@example.com', 'e@example.com']) {
      replies.push(await c.send(`RCPT TO:<${r}>\r\n`));
    }
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '250', '452', '452']);
    expect(await c.send('DATA\r\n')).toMatch(/^354 /);
    expect(await c.send('Subject: capped\r\n\r\nx\r\n.\r\n')).toMatch(/^250 /);
    c.destroy();
    const [m] = await h.deps.repos.messages.list({ userId: h.owner.userId, limit: 5 });
    expect(m!.envelope.rcptTo.map((a) => a.toLowerCase())).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    await stillServes(h);
  });

  it('a 1,000-recipient burst of refusals does not slow the next sender down', async () => {
    const c = await RawClient.open(h.port);
    await c.send('EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\n');
    await c.until(/^250 .*Accepted/);
    const burst = Array.from({ length: 1000 }, (_, i) => `RCPT TO:<x${i}@not-ours.test>\r\n`).join('');
    const from = c.lines.length;
    c.write(burst);
    await c.until(/^550 /, 10_000, from + 999);
    expect(c.lines.slice(from).filter((l) => l.startsWith('550'))).toHaveLength(1000);
    c.destroy();
    await stillServes(h);
  });
});
