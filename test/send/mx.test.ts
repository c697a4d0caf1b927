import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../src/dns/resolver.js';
import { cachedMxLookup, MX_CACHE_MS, PermanentDnsError, resolveMx } from '../../src/send/mx.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer();
});
afterAll(() => dns.close());

describe('resolveMx', () => {
  it('orders MX hosts by priority, falls back to the A record, refuses private addresses unless allowed', async () => {
    dns.set([
      { name: 'two.test', type: 'MX', value: 'b.two.test', priority: 20 },
      { name: 'two.test', type: 'MX', value: 'a.two.test', priority: 10 },
      { name: 'a.two.test', type: 'A', value: '127.0.0.1' },
      { name: 'b.two.test', type: 'A', value: '127.0.0.2' },
      { name: 'bare.test', type: 'A', value: '10.1.2.3' },
      { name: 'inside.test', type: 'MX', value: 'mx.inside.test' },
      { name: 'mx.inside.test', type: 'A', value: '169.254.169.254' },
    ]);
    const r = createResolver([dns.address]);
    expect(await resolveMx(r, 'two.test', true)).toEqual([{ host: 'a.two.test', ip: '127.0.0.1' }, { host: 'b.two.test', ip: '127.0.0.2' }]);
    expect(await resolveMx(r, 'bare.test', true)).toEqual([{ host: 'bare.test', ip: '10.1.2.3' }]);
    // Without ALLOW_INSECURE_WEBHOOKS a domain cannot point our SMTP client inside the network.
    await expect(resolveMx(r, 'inside.test', false)).rejects.toThrow(PermanentDnsError);
    await expect(resolveMx(r, 'two.test', false)).rejects.toThrow(/not allowed/);
    await expect(resolveMx(r, 'missing.test', true)).rejects.toThrow(/no mail server/);
  });

  it('keeps an answer for MX_CACHE_MS (one lookup per destination a minute, not per batch); failures are asked again', async () => {
    dns.set([
      { name: 'kept.test', type: 'MX', value: 'mx.kept.test' },
      { name: 'mx.kept.test', type: 'A', value: '127.0.0.1' },
    ]);
    let now = 1_000_000;
    const lookup = cachedMxLookup(createResolver([dns.address]), true, () => now);
    const asked = () => dns.queries.filter((q) => q.name === 'kept.test' && q.type === 'MX').length;
    const before = asked();
    expect(await lookup('kept.test')).toEqual([{ host: 'mx.kept.test', ip: '127.0.0.1' }]);
    now += MX_CACHE_MS - 1;
    expect(await lookup('kept.test')).toEqual([{ host: 'mx.kept.test', ip: '127.0.0.1' }]);
    expect(asked() - before).toBe(1);
    dns.set([
      { name: 'kept.test', type: 'MX', value: 'mx2.kept.test' },
      { name: 'mx2.kept.test', type: 'A', value: '127.0.0.2' },
    ]);
    now += 1;
    expect(await lookup('kept.test')).toEqual([{ host: 'mx2.kept.test', ip: '127.0.0.2' }]);
    expect(asked() - before).toBe(2);
    await expect(lookup('nothing.test')).rejects.toThrow(/no mail server/);
    const missing = dns.queries.filter((q) => q.name === 'nothing.test').length;
    await expect(lookup('nothing.test')).rejects.toThrow(/no mail server/);
    expect(dns.queries.filter((q) => q.name === 'nothing.test').length).toBeGreaterThan(missing);
  });
});
