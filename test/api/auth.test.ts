import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_LIFETIME_MS } from '../../src/auth/sessions.js';
import { sha256Hex } from '../../src/auth/secrets.js';
import { fakeClock } from '../helpers/deps.js';
import { createKey, signup, testApi, uniqueEmail, type TestApi } from '../helpers/api.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

describe('signup', () => {
  it('creates the account and a session, normalising the email', async () => {
    api = testApi();
    const res = await api.call('POST', '/api/auth/signup', { body: { email: '  Alice@Example.ORG ', password: 'longenough' } });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^mhs_[A-Za-z0-9_-]{43}$/);
    expect(res.body.user).toMatchObject({ email: 'alice@example.org', google_linked: false });
    expect(res.body.user.id).toMatch(/^usr_/);
    const stored = (await api.deps.repos.users.getByEmail('alice@example.org'))!;
    expect(stored.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored.passwordHash).not.toContain('longenough');
    // Only the token's hash is stored.
    expect(await api.deps.repos.sessions.getByTokenHash(sha256Hex(res.body.token))).not.toBeNull();
    const dup = await api.call('POST', '/api/auth/signup', { body: { email: 'alice@example.org', password: 'longenough' } });
    expect(dup.status).toBe(409);
  });

  it.each([
    [{ email: 'a@b.co' }, /password/],
    [{ password: 'longenough' }, /email/],
    [{ email: 'not-an-email', password: 'longenough' }, /email/],
    [{ email: 'a@b.co', password: 'short' }, /password/],
    [{ email: 'a@b.co', password: 'x'.repeat(257) }, /password/],
    [{ email: 'a@b.co', password: 12345678 }, /password/],
    ['[1, 2]', /body/],
  ])('refuses %j with 400 naming the field', async (body, field) => {
    api = testApi();
    const res = await api.call('POST', '/api/auth/signup', { body });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(field);
  });

  it('answers malformed JSON with 400 and { error }', async () => {
    api = testApi();
    const res = await api.call('POST', '/api/auth/signup', { body: '{"email":' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringMatching(/JSON/) });
  });

  it('answers a body that is not JSON with 415 and { error }', async () => {
    api = testApi();
    const res = await api.call('POST', '/api/auth/signup', { body: 'email=a@b.co', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    // What to send instead: `curl -d '{…}'` without -H posts exactly this.
    expect(res.body).toEqual({ error: 'the body must be JSON with content-type: application/json (got "application/x-www-form-urlencoded")' });
  });

  it('refuses a megabyte password with 413 before hashing anything', async () => {
    api = testApi();
    const started = Date.now();
    const res = await api.call('POST', '/api/auth/signup', { body: { email: 'a@b.co', password: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/larger/);
    const almost = await api.call('POST', '/api/auth/signup', { body: { email: 'a@b.co', password: 'x'.repeat(900_000) } });
    expect(almost.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await api.deps.repos.users.getByEmail('a@b.co')).toBeNull();
  });
});

describe('login', () => {
  it('signs in with the right password, case-insensitively on the email', async () => {
    api = testApi();
    const { email, password, user } = await signup(api);
    const res = await api.call('POST', '/api/auth/login', { body: { email: email.toUpperCase(), password } });
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(user.id);
    const me = await api.call('GET', '/api/auth/me', { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: user.id, email });
  });

  it('gives the same 401 for an unknown email and a wrong password', async () => {
    api = testApi();
    const { email } = await signup(api);
    const wrong = await api.call('POST', '/api/auth/login', { body: { email, password: 'wrong password' } });
    const unknown = await api.call('POST', '/api/auth/login', { body: { email: uniqueEmail(), password: 'wrong password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.text).toBe(wrong.text);
    expect([...unknown.headers.keys()].sort()).toEqual([...wrong.headers.keys()].sort());
  });

  it('spends scrypt time on unknown emails too', async () => {
    api = testApi();
    const { email } = await signup(api);
    const time = async (e: string) => {
      const t = performance.now();
      await api.call('POST', '/api/auth/login', { body: { email: e, password: 'wrong password' } });
      return performance.now() - t;
    };
    await time(uniqueEmail()); // warm the dummy hash
    const known = await time(email);
    const unknown = await time(uniqueEmail());
    expect(unknown).toBeGreaterThan(known / 3);
  });

  it('throttles repeated failures on one account with 429 and Retry-After, even for the right password', async () => {
    const clock = fakeClock();
    api = testApi({}, { now: clock.now });
    const { email, password } = await signup(api);
    for (let i = 0; i < 10; i++) {
      const res = await api.call('POST', '/api/auth/login', { body: { email, password: `wrong ${i}` }, headers: { 'x-forwarded-for': `10.0.0.${i}` } });
      expect(res.status).toBe(401);
    }
    const blocked = await api.call('POST', '/api/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': '10.0.1.1' } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
    expect(blocked.body.error).toMatch(/too many/);
    clock.advance(15 * 60 * 1000 + 1);
    const after = await api.call('POST', '/api/auth/login', { body: { email, password } });
    expect(after.status).toBe(200);
  });

  // 51 logins, each a full scrypt (unknown addresses too, against account enumeration): 12 s
  // alone, over 30 s with two other test files on the same two cores.
  it('throttles failures from one address across accounts', { timeout: 120_000 }, async () => {
    api = testApi({ TRUST_PROXY: 'x-forwarded-for' });
    const headers = { 'x-forwarded-for': '203.0.113.9' };
    for (let i = 0; i < 50; i++) {
      const res = await api.call('POST', '/api/auth/login', { body: { email: `nobody${i}@example.org`, password: 'guess' }, headers });
      expect(res.status).toBe(401);
    }
    const res = await api.call('POST', '/api/auth/login', { body: { email: 'other@example.org', password: 'guess' }, headers });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    const elsewhere = await api.call('POST', '/api/auth/login', { body: { email: 'other@example.org', password: 'guess' } });
    expect(elsewhere.status).toBe(401);
  });

  it('refuses a malformed body with 400', async () => {
    api = testApi();
    const res = await api.call('POST', '/api/auth/login', { body: { email: 'a@b.co' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^password: /);
  });
});

describe('sessions', () => {
  it('logout revokes the session at once', async () => {
    api = testApi();
    const { token } = await signup(api);
    const out = await api.call('POST', '/api/auth/logout', { token });
    expect(out.status).toBe(204);
    const me = await api.call('GET', '/api/auth/me', { token });
    expect(me.status).toBe(401);
    expect(me.headers.get('www-authenticate')).toBe('Bearer');
    expect((await api.call('POST', '/api/auth/logout', { token })).status).toBe(401);
  });

  it('expires after the session lifetime', async () => {
    const clock = fakeClock();
    api = testApi({}, { now: clock.now });
    const { token } = await signup(api);
    clock.advance(SESSION_LIFETIME_MS - 1);
    expect((await api.call('GET', '/api/auth/me', { token })).status).toBe(200);
    clock.advance(1);
    expect((await api.call('GET', '/api/auth/me', { token })).status).toBe(401);
  });

  it('answers 401 without a credential, with a malformed one or an unknown one', async () => {
    api = testApi();
    const cases: Record<string, string>[] = [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer mhs_nope' }, { authorization: 'Bearer mhk_nope' }, { authorization: 'Bearer' }];
    for (const headers of cases) {
      const res = await api.call('GET', '/api/auth/me', { headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
  });

  it('me and logout need a session, not an API key', async () => {
    api = testApi();
    const { token } = await signup(api);
    const { secret } = await createKey(api, token, ['*']);
    expect((await api.call('GET', '/api/auth/me', { token: secret })).status).toBe(403);
    expect((await api.call('POST', '/api/auth/logout', { token: secret })).status).toBe(403);
  });

  it('rate-limits one credential at 600 requests a minute', async () => {
    const clock = fakeClock();
    api = testApi({}, { now: clock.now });
    const { token } = await signup(api);
    const other = await signup(api);
    for (let i = 0; i < 600; i++) {
      const res = await api.app.request('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    }
    const limited = await api.call('GET', '/api/auth/me', { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api.call('GET', '/api/auth/me', { token: other.token })).status).toBe(200);
    clock.advance(60_000);
    expect((await api.call('GET', '/api/auth/me', { token })).status).toBe(200);
  });
});
