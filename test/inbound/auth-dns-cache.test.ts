import { afterEach, describe, expect, it } from 'vitest';
import { authCheck } from '../../src/inbound/auth-check.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * Issue 14: the auth checks' resolver keeps answers for DNS_CACHE_SECONDS (src/parse/auth.ts),
 * as an MTA's local caching resolver does: mail from one sender asks DNS for its SPF and DMARC
 * records once, not once a message. Through a real SMTP server and a real DNS server on loopback.
 */
let deps: TestDeps | undefined;
let smtp: RunningSmtp | undefined;
let dns: TestDnsServer | undefined;
afterEach(async () => {
  await smtp?.close();
  await dns?.close();
  await deps?.cleanup();
  smtp = deps = dns = undefined;
});

async function sendThree(env: Record<string, string>): Promise<{ spf: number; dmarc: number; results: unknown[] }> {
  dns = await startDnsServer([
    { name: 'sender.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.1 -all' },
    { name: '_dmarc.sender.test', type: 'TXT', value: 'v=DMARC1; p=none' },
  ]);
  deps = testDeps({ AUTH_CHECKS: 'true', DNS_SERVERS: dns.address, ...env });
  const { user, domain } = await seedUserAndDomain(deps, 'example.com');
  await addRoute(deps, { userId: user.id, domainId: domain.id });
  smtp = await startSmtp(deps, { checkAuth: authCheck(deps) });
  for (let i = 0; i < 3; i++) await smtp.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', subject: `n${i}`, text: 'hi' });
  const messages = await deps.repos.messages.list({ userId: user.id, limit: 10 });
  const asked = (name: string) => dns!.queries.filter((q) => q.name === name && q.type === 'TXT').length;
  return { spf: asked('sender.test'), dmarc: asked('_dmarc.sender.test'), results: messages.map((m) => m.auth) };
}

describe('auth checks: DNS answers kept for DNS_CACHE_SECONDS', () => {
  it('asks for the sender SPF and DMARC records once for three messages (default 60 s)', async () => {
    const r = await sendThree({});
    expect(r.results).toEqual(Array(3).fill({ spf: 'pass', dkim: 'none', dmarc: 'pass', arc: 'none' }));
    expect([r.spf, r.dmarc]).toEqual([1, 1]);
  });

  it('asks for every message with DNS_CACHE_SECONDS=0', async () => {
    const r = await sendThree({ DNS_CACHE_SECONDS: '0' });
    expect(r.results).toEqual(Array(3).fill({ spf: 'pass', dkim: 'none', dmarc: 'pass', arc: 'none' }));
    expect([r.spf, r.dmarc]).toEqual([3, 3]);
  });
});
