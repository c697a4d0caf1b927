import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOUCH_INTERVAL_MS } from '../../src/auth/sessions.js';
import { createKey, signup, testApi, type TestApi } from '../helpers/api.js';
import { engine, fakeClock } from '../helpers/deps.js';
import { sendingDomain } from '../helpers/sending.js';

/**
 * POST /v1/send's per-request lookups (the API key by hash, its user, the sending domain; the
 * domain again for each outcome's event) are answered from memory on SQLite while nothing they
 * read has changed (src/db/lookup-cache.ts, issue 12). Whoever changes a key, a user or a domain,
 * the next request sees it: revocation stays immediate.
 */
let api: TestApi;
afterEach(() => api?.deps.cleanup());

const mail = { from: 'support@example.com', to: ['alice@dest.test'], subject: 'Hello', text: 'Hi Alice' };

async function ready(opts: { now?: () => number } = {}) {
  api = testApi({}, opts);
  const { token, user } = await signup(api);
  const domain = await sendingDomain(api, token, 'example.com');
  const { secret, key } = await createKey(api, token, ['send']);
  return { token, user, domain, secret, keyId: key.id as string };
}

const send = (secret: string) => api.call('POST', '/v1/send', { token: secret, body: mail });

/** A statement committed by another process on the same SQLite file (the CLI, a hand-typed UPDATE). */
const otherProcess = (statement: string) =>
  execFileSync(process.execPath, [
    '-e',
    `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.pragma('foreign_keys = ON'); db.exec(process.argv[2]); db.close();`,
    join(api.deps.config.dataDir, 'mailhook.db'),
    statement,
  ]);

describe.skipIf(engine !== 'sqlite')('the send path reads its key, user and domain once, and sees every change at the next request', () => {
  it('answers from memory while nothing changed: a change that bumps no generation is not seen', async () => {
    const { secret, keyId, domain } = await ready();
    expect((await send(secret)).status).toBe(202);
    // Without the triggers, a revocation and an unverified domain are invisible to the cache:
    // the request is answered from memory, not from the rows (on the old code: 401).
    api.deps.db.exec('DROP TRIGGER IF EXISTS api_keys_lookup_update; DROP TRIGGER IF EXISTS domains_lookup_update');
    api.deps.db.prepare('UPDATE api_keys SET revoked_at = 1 WHERE id = ?').run(keyId);
    api.deps.db.prepare('UPDATE domains SET dkim_verified_at = NULL WHERE id = ?').run(domain.id);
    expect((await send(secret)).status).toBe(202);
    // A bump (what the triggers do for every such change): the rows are read again.
    api.deps.db.exec('UPDATE lookup_generation SET n = n + 1');
    expect((await send(secret)).status).toBe(401);
  });

  it('a key revoked, narrowed or deleted by another process is refused on the next request', async () => {
    const { secret, keyId } = await ready();
    expect((await send(secret)).status).toBe(202);
    otherProcess(`UPDATE api_keys SET scopes = '["domains:read"]' WHERE id = '${keyId}'`);
    expect((await send(secret)).status).toBe(403);
    otherProcess(`UPDATE api_keys SET scopes = '["send"]' WHERE id = '${keyId}'`);
    expect((await send(secret)).status).toBe(202);
    otherProcess(`UPDATE api_keys SET revoked_at = 1 WHERE id = '${keyId}'`);
    expect((await send(secret)).status).toBe(401);
    otherProcess(`UPDATE api_keys SET revoked_at = NULL WHERE id = '${keyId}'`);
    expect((await send(secret)).status).toBe(202);
    otherProcess(`DELETE FROM api_keys WHERE id = '${keyId}'`);
    expect((await send(secret)).status).toBe(401);
  });

  it('a user deleted and a domain unverified or deleted by another process are seen at the next request', async () => {
    const { secret, user, domain } = await ready();
    expect((await send(secret)).status).toBe(202);
    otherProcess(`UPDATE domains SET dkim_verified_at = NULL WHERE id = '${domain.id}'`);
    expect((await send(secret)).status).toBe(409);
    otherProcess(`UPDATE domains SET dkim_verified_at = 1 WHERE id = '${domain.id}'`);
    expect((await send(secret)).status).toBe(202);
    otherProcess(`DELETE FROM domains WHERE id = '${domain.id}'`);
    expect((await send(secret)).status).toBe(403);
    otherProcess(`DELETE FROM users WHERE id = '${user.id}'`); // the key goes with it (ON DELETE CASCADE)
    expect((await send(secret)).status).toBe(401);
  });

  it('a key revoked through the API is refused on the next request', async () => {
    const { token, secret, keyId } = await ready();
    expect((await send(secret)).status).toBe(202);
    expect((await api.call('DELETE', `/api/keys/${keyId}`, { token })).status).toBe(204);
    expect((await send(secret)).status).toBe(401);
  });

  it('the key is touched once per interval, not on every request', async () => {
    const clock = fakeClock();
    const { secret, keyId } = await ready({ now: clock.now });
    const lastUsed = () => api.deps.db.prepare('SELECT last_used_at FROM api_keys WHERE id = ?').pluck().get(keyId) as number | null;
    expect((await send(secret)).status).toBe(202);
    const first = clock.now();
    expect(lastUsed()).toBe(first);
    // Touching bumps no generation: the kept key is updated instead, so the next requests within
    // the interval write nothing to api_keys.
    const generation = api.deps.db.prepare('SELECT n FROM lookup_generation').pluck().get();
    clock.advance(TOUCH_INTERVAL_MS - 1);
    expect((await send(secret)).status).toBe(202);
    expect(lastUsed()).toBe(first);
    expect(api.deps.db.prepare('SELECT n FROM lookup_generation').pluck().get()).toBe(generation);
    clock.advance(1);
    expect((await send(secret)).status).toBe(202);
    expect(lastUsed()).toBe(clock.now());
  });
});
