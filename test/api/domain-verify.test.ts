import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startSmtp } from '../helpers/smtp.js';
import { addDomain, signup, testApi, type TestApi } from '../helpers/api.js';

let dns: TestDnsServer;
let api: TestApi;
beforeAll(async () => {
  dns = await startDnsServer();
});
afterAll(() => dns.close());
afterEach(() => api?.deps.cleanup());

const dnsApi = () => testApi({ DNS_SERVERS: dns.address });
type Check = { type: string; name: string; expected: string; found: string[]; ok: boolean; error: string | null };
const record = (body: { last_check: { records: Check[] } }, type: string) => body.last_check.records.find((r) => r.type === type)!;

describe('POST /api/domains/:id/verify against a real DNS server', () => {
  it('missing TXT: stays pending, reports the TXT record not found', async () => {
    api = dnsApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token, 'missing-txt.test');
    dns.set([{ name: 'missing-txt.test', type: 'MX', value: 'mx.mailhook.test' }]);
    const res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending');
    expect(res.body.last_check.ok).toBe(false);
    expect(record(res.body, 'TXT')).toMatchObject({ name: '_mailhook.missing-txt.test', found: [], ok: false, error: null });
    expect(record(res.body, 'MX')).toMatchObject({ found: ['mx.mailhook.test'], ok: true });
    expect(dns.queries).toContainEqual({ name: '_mailhook.missing-txt.test', type: 'TXT' });
  });

  it('wrong MX: stays pending, shows what was found', async () => {
    api = dnsApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token, 'wrong-mx.test');
    const txt = d.records.find((r) => r.type === 'TXT')!;
    dns.set([
      { name: txt.name, type: 'TXT', value: 'v=spf1 -all' },
      { name: txt.name, type: 'TXT', value: txt.value },
      { name: 'wrong-mx.test', type: 'MX', value: 'mx.elsewhere.test' },
    ]);
    const res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
    expect(res.body.status).toBe('pending');
    expect(record(res.body, 'TXT')).toMatchObject({ ok: true, expected: txt.value });
    expect(record(res.body, 'MX')).toMatchObject({ expected: 'mx.mailhook.test', found: ['mx.elsewhere.test'], ok: false });
    // The last check is kept with the domain.
    expect((await api.call('GET', `/api/domains/${d.id}`, { token })).body.last_check).toEqual(res.body.last_check);
  });

  it('both right: verified (MX compared case-insensitively, trailing dot ignored); SMTP accepts only then', async () => {
    api = dnsApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token, 'good.test');
    const txt = d.records.find((r) => r.type === 'TXT')!;
    await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: 'http://127.0.0.1:1/hook' } });
    const smtp = await startSmtp(api.deps);
    try {
      const send = () => smtp.transport.sendMail({ from: 'a@sender.test', to: 'someone@good.test', subject: 'hi', text: 'hello' });
      await expect(send()).rejects.toMatchObject({ responseCode: 550 });

      dns.set([
        { name: txt.name, type: 'TXT', value: txt.value },
        { name: 'good.test', type: 'MX', value: 'backup.good.test', priority: 20 },
        { name: 'good.test', type: 'MX', value: 'MX.Mailhook.Test.', priority: 10 },
      ]);
      const res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('verified');
      expect(res.body.verified_at).toEqual(expect.any(Number));
      expect(res.body.last_check.ok).toBe(true);
      expect(record(res.body, 'MX').found).toEqual(expect.arrayContaining(['mx.mailhook.test', 'backup.good.test']));

      const info = await send();
      expect(info.accepted).toEqual(['someone@good.test']);
    } finally {
      await smtp.close();
    }
  });

  it('a TXT value split into several strings counts as one', async () => {
    api = dnsApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token, 'split.test');
    const txt = d.records.find((r) => r.type === 'TXT')!;
    // Padded past 255 bytes, so the server splits it into two character-strings.
    dns.set([
      { name: txt.name, type: 'TXT', value: txt.value },
      { name: txt.name, type: 'TXT', value: 'x'.repeat(300) },
      { name: 'split.test', type: 'MX', value: 'mx.mailhook.test' },
    ]);
    const res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
    expect(res.body.status).toBe('verified');
    expect(record(res.body, 'TXT').found).toContain('x'.repeat(300));
  });

  it('409 when another account already holds the name verified', async () => {
    api = dnsApi();
    const alice = await signup(api);
    const bob = await signup(api);
    const a = await addDomain(api, alice.token, 'contested.test');
    const b = await addDomain(api, bob.token, 'contested.test');
    const txtOf = (d: typeof a) => d.records.find((r) => r.type === 'TXT')!;
    dns.set([
      { name: txtOf(a).name, type: 'TXT', value: txtOf(a).value },
      { name: txtOf(b).name, type: 'TXT', value: txtOf(b).value },
      { name: 'contested.test', type: 'MX', value: 'mx.mailhook.test' },
    ]);
    expect((await api.call('POST', `/api/domains/${a.id}/verify`, { token: alice.token })).body.status).toBe('verified');
    const res = await api.call('POST', `/api/domains/${b.id}/verify`, { token: bob.token });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/another account/);
    expect((await api.call('GET', `/api/domains/${b.id}`, { token: bob.token })).body.status).toBe('pending');
  });

  it('a DNS timeout is reported per record, not as a server error', async () => {
    api = testApi({ DNS_SERVERS: dns.address });
    const { token } = await signup(api);
    const d = await addDomain(api, token, 'slow.test');
    dns.setSilent(true);
    try {
      const res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('pending');
      expect(record(res.body, 'TXT').error).toMatch(/DNS lookup failed/);
    } finally {
      dns.setSilent(false);
    }
  });

  it('404 for an unknown or foreign domain', async () => {
    api = dnsApi();
    const alice = await signup(api);
    const bob = await signup(api);
    const d = await addDomain(api, alice.token, 'mine.test');
    const foreign = await api.call('POST', `/api/domains/${d.id}/verify`, { token: bob.token });
    const random = await api.call('POST', '/api/domains/dom_01jdzzzzzzzzzzzzzzzzzzzzzz/verify', { token: bob.token });
    expect(foreign.status).toBe(404);
    expect(foreign.text).toBe(random.text);
  });
});
