import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { dkimPrivateKey } from '../../src/send/dkim-key.js';
import { addDomain, signup, testApi, type TestApi } from '../helpers/api.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

let dns: TestDnsServer;
let api: TestApi;
beforeAll(async () => {
  dns = await startDnsServer();
});
afterAll(() => dns.close());
afterEach(() => api?.deps.cleanup());

type Rec = { type: string; name: string; value: string; purpose: string };
type Check = Rec & { expected: string; ok: boolean; found: string[] };

describe('sending domains', () => {
  it('POST /api/domains returns a DKIM record (RSA-2048) and SPF; the private key is stored sealed', async () => {
    api = testApi();
    const { token } = await signup(api);
    const d = (await addDomain(api, token, 'send.test')) as unknown as { id: string; records: Rec[]; can_send: boolean };
    const dkim = d.records.find((r) => r.purpose === 'dkim')!;
    expect(dkim.type).toBe('TXT');
    expect(dkim.name).toMatch(/^mh[0-9a-f]{8}\._domainkey\.send\.test$/);
    expect(dkim.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+$/);
    const { createPublicKey } = await import('node:crypto');
    const pub = createPublicKey({ key: Buffer.from(dkim.value.split('p=')[1]!, 'base64'), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(d.records.find((r) => r.purpose === 'spf')).toEqual({ type: 'TXT', name: 'send.test', value: 'v=spf1 a:mx.mailhook.test ~all', purpose: 'spf' });
    expect(d.can_send).toBe(false);

    const row = api.deps.db.prepare('SELECT dkim_private_key FROM domains WHERE id = ?').get(d.id) as { dkim_private_key: string };
    expect(row.dkim_private_key).not.toContain('PRIVATE KEY');
    const stored = (await api.deps.repos.domains.getById(d.id))!;
    expect(dkimPrivateKey(api.deps.config.secret, stored.dkim!)).toContain('BEGIN PRIVATE KEY');
    expect(() => dkimPrivateKey('another-secret-another-secret-0123456789', stored.dkim!)).toThrow();
  });

  it('verify reports DKIM and SPF per record; can_send only once the DKIM record is published', async () => {
    api = testApi({ DNS_SERVERS: dns.address });
    const { token } = await signup(api);
    const d = (await addDomain(api, token, 'dkim.test')) as unknown as { id: string; records: Rec[] };
    const rec = (p: string) => d.records.find((r) => r.purpose === p)!;
    const base = [
      { name: rec('ownership').name, type: 'TXT' as const, value: rec('ownership').value },
      { name: 'dkim.test', type: 'MX' as const, value: 'mx.mailhook.test' },
    ];
    dns.set(base);
    let res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
    expect(res.body.status).toBe('verified');
    expect(res.body.can_send).toBe(false);
    const check = (p: string) => (res.body.last_check.records as Check[]).find((r) => r.purpose === p)!;
    expect(check('dkim')).toMatchObject({ name: rec('dkim').name, ok: false, found: [] });
    expect(check('spf')).toMatchObject({ ok: false });

    // A 2048-bit key is longer than one TXT string: the server splits it, verify joins it.
    dns.set([...base, { name: rec('dkim').name, type: 'TXT', value: rec('dkim').value }, { name: 'dkim.test', type: 'TXT', value: 'v=spf1 a:mx.mailhook.test include:other.test ~all' }]);
    res = await api.call('POST', `/api/domains/${d.id}/verify`, { token });
    expect(check('dkim')).toMatchObject({ ok: true });
    expect(check('spf')).toMatchObject({ ok: true });
    expect(res.body.can_send).toBe(true);
    expect(res.body.dkim_verified_at).toEqual(expect.any(Number));

    // A wrong key at the selector does not count.
    const other = (await addDomain(api, token, 'other.test')) as unknown as { id: string; records: Rec[] };
    const otherDkim = other.records.find((r) => r.purpose === 'dkim')!;
    dns.set([
      { name: other.records.find((r) => r.purpose === 'ownership')!.name, type: 'TXT', value: other.records.find((r) => r.purpose === 'ownership')!.value },
      { name: 'other.test', type: 'MX', value: 'mx.mailhook.test' },
      { name: otherDkim.name, type: 'TXT', value: rec('dkim').value },
    ]);
    res = await api.call('POST', `/api/domains/${other.id}/verify`, { token });
    expect(res.body.status).toBe('verified');
    expect(check('dkim').ok).toBe(false);
    expect(res.body.can_send).toBe(false);
  });

  it('a database made before sending existed gets the columns, and its domains get a key when read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailhook-migrate-'));
    try {
      const file = join(dir, 'mailhook.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT, google_sub TEXT UNIQUE, created_at INTEGER NOT NULL) STRICT;
        CREATE TABLE domains (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,
          status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified')), verification_token TEXT NOT NULL, verified_at INTEGER,
          last_check TEXT, webhook_url TEXT, webhook_secret TEXT, created_at INTEGER NOT NULL, UNIQUE (user_id, name)) STRICT;`);
      old.close();
      const db = openDb(file);
      const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').all('domains') as { name: string }[]).map((c) => c.name);
      expect(cols).toEqual(expect.arrayContaining(['dkim_selector', 'dkim_public_key', 'dkim_private_key', 'dkim_verified_at']));
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    api = testApi();
    const { token, user } = await signup(api);
    const now = api.deps.now();
    // As an older version wrote it: no key.
    await api.deps.repos.domains.insert({ id: 'dom_01old', userId: user.id, name: 'old.test', status: 'verified', verificationToken: 't', verifiedAt: now, webhookUrl: null, webhookSecret: null, createdAt: now });
    expect((await api.deps.repos.domains.getById('dom_01old'))!.dkim).toBeNull();
    const res = await api.call('GET', '/api/domains/dom_01old', { token });
    expect(res.status).toBe(200);
    expect((res.body.records as Rec[]).some((r) => r.purpose === 'dkim')).toBe(true);
    const again = await api.call('GET', '/api/domains/dom_01old', { token });
    expect(again.body.records).toEqual(res.body.records);
  });
});
