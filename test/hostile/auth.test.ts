import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { clientIp } from '../../src/api/limits.js';
import { TRUST_PROXY_VALUES, type TrustProxy } from '../../src/config.js';
import { fakeClock } from '../helpers/deps.js';
import { createKey, signup, testApi, uniqueEmail, type TestApi } from '../helpers/api.js';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';

/**
 * Credentials under attack: guessing (throttled per account and per address, one answer for
 * every failure), oversized input refused before any hashing, revocation effective on the very
 * next request, and an account that cannot be pre-hijacked through Google sign-in.
 */
let api: TestApi;
afterEach(() => api?.deps.cleanup());

const login = (body: unknown, ip = '198.51.100.7') => api.call('POST', '/api/auth/login', { body, headers: { 'x-forwarded-for': ip } });

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

describe('login failures look alike', () => {
  it('unknown email, wrong password and a Google-only account get byte-identical 401s, each after a real scrypt', async () => {
    api = testApi();
    const { email } = await signup(api);
    await api.deps.repos.users.insert({ id: 'usr_googleonly00000000000000000', email: 'g@example.org', passwordHash: null, googleSub: 'g', createdAt: 0 });
    const answers: { status: number; text: string; headers: string }[] = [];
    const times: number[] = [];
    for (const [i, e] of [email, 'nobody-here@example.org', 'g@example.org', email.toUpperCase()].entries()) {
      const [res, ms] = await timed(() => login({ email: e, password: 'wrong password' }, `198.51.100.${i}`));
      answers.push({ status: res.status, text: res.text, headers: JSON.stringify([...res.headers]) });
      times.push(ms);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ status: 401 });
    // Each one paid for a real scrypt (N=2^15, 32 MiB: tens of ms; a lookup alone is well under
    // 1 ms), so response time does not tell which emails have accounts.
    for (const ms of times) expect(ms).toBeGreaterThan(15);
  });
});

describe('sign-up does not tell which emails have accounts faster than a sign-up', () => {
  const signupAs = (email: string, ip: string) =>
    api.call('POST', '/api/auth/signup', { body: { email, password: 'correct horse battery' }, headers: { 'x-forwarded-for': ip } });

  it('the 409 for a taken email pays for the same scrypt as a real sign-up (issue 11 item 7)', async () => {
    api = testApi({ TRUST_PROXY: 'x-forwarded-for' });
    const { email } = await signup(api);
    for (let i = 0; i < 3; i++) {
      const [fresh, freshMs] = await timed(() => signupAs(uniqueEmail(), `198.51.100.${i}`));
      expect(fresh.status).toBe(201);
      const [taken, takenMs] = await timed(() => signupAs(email.toUpperCase(), `198.51.100.${i}`));
      expect(taken.status).toBe(409);
      expect(taken.body).toEqual({ error: 'an account with this email already exists' });
      // A look-up alone is well under 1 ms; one scrypt (N=2^15, 32 MiB) is tens of ms. Generous
      // against load: the 409 must cost a real fraction of the sign-up it imitates.
      expect(takenMs).toBeGreaterThan(15);
      expect(takenMs).toBeGreaterThan(freshMs / 4);
    }
  });
});

// Per address (50 failures over many accounts) is covered by test/api/auth.test.ts.
describe('login throttling', () => {
  it('per account: the 11th guess is 429 from any address, even with the right password; other accounts are unaffected', async () => {
    const clock = fakeClock();
    api = testApi({}, { now: clock.now });
    const victim = await signup(api);
    const bystander = await signup(api);
    for (let i = 0; i < 10; i++) expect((await login({ email: victim.email, password: `guess ${i}` }, `203.0.113.${i}`)).status).toBe(401);
    // Spelling the email differently is the same account and the same counter.
    for (const spelling of [victim.email.toUpperCase(), `  ${victim.email}  `]) {
      const res = await login({ email: spelling, password: victim.password }, '192.0.2.77');
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect((await login({ email: bystander.email, password: bystander.password }, '203.0.113.1')).status).toBe(200);
    clock.advance(15 * 60_000 + 1);
    expect((await login({ email: victim.email, password: victim.password })).status).toBe(200);
  });

  it('a burst of parallel guesses cannot slip past the limit while scrypt runs', async () => {
    api = testApi();
    const { email } = await signup(api);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => login({ email, password: `parallel ${i}` }, `198.51.100.${i}`)));
    expect(results.filter((r) => r.status === 401)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(20);
  });
});

describe('oversized and malformed credentials are refused cheaply', () => {
  it.each([
    ['a 1 MB password', { email: 'a@example.org', password: 'p'.repeat(1_000_000) }, 400],
    ['a 257-character password', { email: 'a@example.org', password: 'p'.repeat(257) }, 400],
    ['a 1 MB email', { email: 'e'.repeat(1_000_000) + '@example.org', password: 'longenough' }, 400],
    ['a 2 MB body', { email: 'a@example.org', password: 'p'.repeat(2_000_000) }, 413],
  ])('login and signup with %s: answered %s, well under the cost of one scrypt', async (_name, body, status) => {
    api = testApi();
    for (const path of ['/api/auth/login', '/api/auth/signup']) {
      const [res, ms] = await timed(() => api.call('POST', path, { body }));
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error: expect.any(String) });
      expect(ms).toBeLessThan(500);
    }
    expect(api.deps.db.prepare('SELECT count(*) AS n FROM users').get()).toEqual({ n: 0 });
  });

  it('a malformed body is not counted as a failed login', async () => {
    api = testApi();
    const { email, password } = await signup(api);
    for (let i = 0; i < 20; i++) expect((await login({ email, password: 'p'.repeat(300) })).status).toBe(400);
    expect((await login({ email, password })).status).toBe(200);
  });
});

describe('credentials in odd places', () => {
  it.each([
    ['a token in the query string', (t: string) => ({ path: `/api/auth/me?token=${t}`, headers: {} })],
    ['Basic auth', (t: string) => ({ path: '/api/auth/me', headers: { authorization: `Basic ${Buffer.from(`x:${t}`).toString('base64')}` } })],
    ['two tokens', (t: string) => ({ path: '/api/auth/me', headers: { authorization: `Bearer ${t} ${t}` } })],
    ['a token with a NUL appended', (t: string) => ({ path: '/api/auth/me', headers: { authorization: `Bearer ${t}%00` } })],
    ['a 64 KiB Authorization header', () => ({ path: '/api/auth/me', headers: { authorization: `Bearer mhs_${'A'.repeat(64 * 1024)}` } })],
    ['a cookie', (t: string) => ({ path: '/api/auth/me', headers: { cookie: `token=${t}; session=${t}` } })],
  ])('%s is 401', async (_name, make) => {
    api = testApi();
    const { token } = await signup(api);
    const { path, headers } = make(token);
    const res = await api.call('GET', path, { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('the stored hash of a token is not a token', async () => {
    api = testApi();
    const { token, user } = await signup(api);
    const row = api.deps.db.prepare('SELECT token_hash FROM sessions WHERE user_id = ?').get(user.id) as { token_hash: string };
    expect((await api.call('GET', '/api/auth/me', { token: `mhs_${row.token_hash}` })).status).toBe(401);
    expect((await api.call('GET', '/api/auth/me', { token: row.token_hash })).status).toBe(401);
    expect((await api.call('GET', '/api/auth/me', { token })).status).toBe(200);
  });
});

describe('revocation is immediate', () => {
  it('a revoked key and a logged-out session are 401 on the very next request, on every kind of endpoint', async () => {
    api = testApi();
    const { token } = await signup(api);
    const second = (await login({ email: (await api.deps.repos.users.get((await api.call('GET', '/api/auth/me', { token })).body.user.id))!.email, password: 'correct horse battery' })).body.token as string;
    const { secret, key } = await createKey(api, token, ['*']);
    const paths = ['/api/domains', '/api/routes', '/api/messages', '/api/deliveries'];
    for (const p of paths) expect((await api.call('GET', p, { token: secret })).status).toBe(200);
    expect((await api.call('DELETE', `/api/keys/${key.id}`, { token })).status).toBe(204);
    for (const p of paths) expect((await api.call('GET', p, { token: secret })).status).toBe(401);

    expect((await api.call('POST', '/api/auth/logout', { token: second })).status).toBe(204);
    for (const p of [...paths, '/api/keys', '/api/auth/me']) expect((await api.call('GET', p, { token: second })).status).toBe(401);
    // Logging one session out leaves the others alone.
    expect((await api.call('GET', '/api/auth/me', { token })).status).toBe(200);
  });

  it("a key cannot revoke keys or end sessions, and one user cannot revoke another's key", async () => {
    api = testApi();
    const alice = await signup(api);
    const bob = await signup(api);
    const { secret, key } = await createKey(api, alice.token, ['*']);
    expect((await api.call('DELETE', `/api/keys/${key.id}`, { token: secret })).status).toBe(403);
    expect((await api.call('DELETE', `/api/keys/${key.id}`, { token: bob.token })).status).toBe(404);
    expect((await api.call('GET', '/api/domains', { token: secret })).status).toBe(200);
  });
});

describe('account pre-hijacking through Google sign-in', () => {
  const CLIENT_ID = 'hostile-test.apps.example';
  let issuer: OidcIssuer;
  beforeAll(async () => {
    issuer = await startOidcIssuer(CLIENT_ID, 'secret');
  });
  afterAll(() => issuer.close());

  it("a password account made with someone else's email is never merged into their Google sign-in", async () => {
    api = testApi({ GOOGLE_CLIENT_ID: CLIENT_ID, GOOGLE_CLIENT_SECRET: 'secret', GOOGLE_ISSUER: issuer.issuer });
    // The attacker signs up first with the victim's address (sign-up does not prove the mailbox).
    const victimEmail = uniqueEmail();
    const attacker = await signup(api, victimEmail, 'attacker knows this');
    const attackerKey = (await createKey(api, attacker.token, ['*'])).secret;
    // The victim signs in with Google, which does prove the mailbox.
    issuer.addCode('victim-code', { sub: 'victim-google-sub', email: victimEmail, email_verified: true });
    const res = await api.call('POST', '/api/auth/google', { body: { code: 'victim-code', redirect_uri: 'http://127.0.0.1:3000/cb' } });
    // Whatever the answer, the victim must not land in an account the attacker can still use.
    if (res.status === 200) {
      expect(res.body.user.id).not.toBe(attacker.user.id);
    } else {
      expect(res.status).toBe(409);
      expect(res.body.error).toMatch(/password/);
    }
    expect((await api.deps.repos.users.get(attacker.user.id))!.googleSub).toBeNull();
    expect((await api.call('GET', '/api/auth/me', { token: attackerKey })).status).toBe(403); // a key, still only the attacker's
  });
});

describe('whose address the per-IP limits count (TRUST_PROXY)', () => {
  const probe = (trust: TrustProxy) => {
    const app = new Hono();
    app.get('/ip', (c) => c.text(clientIp(c, trust)));
    return async (peer: string, headers: Record<string, string> = {}) =>
      (await app.request('/ip', { headers }, { incoming: { socket: { remoteAddress: peer } } })).text();
  };
  const SPOOF = { 'x-forwarded-for': '1.2.3.4', 'fly-client-ip': '5.6.7.8' };

  it.each([
    ['93.184.216.34', 'a public peer'],
    ['::ffff:8.8.8.8', 'an IPv4-mapped public peer'],
    ['2a00:1450:4001:80b::200e', 'a public IPv6 peer'],
  ])('%s (%s): forwarded headers are the client talking, ignored in every mode', async (peer) => {
    for (const trust of TRUST_PROXY_VALUES) expect(await probe(trust)(peer, SPOOF)).toBe(peer);
  });

  const PROXIES = [
    ['127.0.0.1', 'loopback'],
    ['10.0.0.2', 'private'],
    ['::ffff:10.0.0.2', 'IPv4-mapped private'],
    ['::ffff:172.17.0.1', 'IPv4-mapped docker bridge'],
    ['172.17.0.1', 'docker bridge'],
    ['fdaa:0:1::3', "Fly's private IPv6 network"],
    ['fe80::1', 'IPv6 link-local'],
    ['::1', 'IPv6 loopback'],
  ];

  it.each(PROXIES)('%s (%s), TRUST_PROXY=none (the default): no header counts, the socket does', async (peer) => {
    expect(await probe('none')(peer, SPOOF)).toBe(peer);
  });

  it.each(PROXIES)('%s (%s), TRUST_PROXY=fly: Fly-Client-IP counts, X-Forwarded-For does not', async (peer) => {
    const ip = probe('fly');
    expect(await ip(peer, { 'fly-client-ip': '198.51.100.24', 'x-forwarded-for': '198.51.100.99' })).toBe('198.51.100.24');
    expect(await ip(peer, { 'x-forwarded-for': '198.51.100.99' })).toBe(peer);
    expect(await ip(peer, { 'fly-client-ip': 'not an address' })).toBe(peer);
  });

  it.each(PROXIES)('%s (%s), TRUST_PROXY=x-forwarded-for: the right-most hop that is not our proxy', async (peer) => {
    const ip = probe('x-forwarded-for');
    expect(await ip(peer, { 'x-forwarded-for': 'spoofed-by-client, 198.51.100.23', 'fly-client-ip': '5.6.7.8' })).toBe('198.51.100.23');
    // The client's own entries are left of what our proxies appended, private ones included.
    expect(await ip(peer, { 'x-forwarded-for': '203.0.113.1, 10.9.9.9, 198.51.100.23, 10.0.0.7, 127.0.0.1' })).toBe('198.51.100.23');
    expect(await ip(peer, { 'x-forwarded-for': '10.1.1.1, 10.0.0.7' })).toBe('10.1.1.1');
    expect(await ip(peer)).toBe(peer);
  });
});

describe('a client behind a reverse proxy on the same host cannot lift the throttles (issue 11 item 5)', () => {
  let server: ServerType;
  let base: string;
  const start = async (env: Record<string, string>) => {
    api = testApi(env);
    await new Promise<void>((resolve) => {
      server = serve({ fetch: api.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
  const failLogin = (headers: Record<string, string>) =>
    fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ email: `nobody-${randomUUID()}@example.org`, password: 'guess' }),
    }).then((r) => r.status);

  it('default config: 53 failed logins from loopback with a rotating Fly-Client-IP and X-Forwarded-For end in 429', { timeout: 120_000 }, async () => {
    await start({});
    const statuses: number[] = [];
    for (let i = 0; i < 53; i++) statuses.push(await failLogin({ 'fly-client-ip': `198.51.100.${i}`, 'x-forwarded-for': `203.0.113.${i}` }));
    expect(statuses.slice(0, 50).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(50)).toEqual([429, 429, 429]);
  });

  it('TRUST_PROXY=x-forwarded-for: a client-written X-Forwarded-For entry does not help; the hop the proxy appended counts', { timeout: 120_000 }, async () => {
    await start({ TRUST_PROXY: 'x-forwarded-for' });
    const statuses: number[] = [];
    // nginx's $proxy_add_x_forwarded_for: the client's header, then the address nginx saw.
    for (let i = 0; i < 51; i++) statuses.push(await failLogin({ 'x-forwarded-for': `203.0.113.${i}, 198.51.100.77` }));
    expect(statuses.slice(0, 50).every((s) => s === 401)).toBe(true);
    expect(statuses[50]).toBe(429);
    expect(await failLogin({ 'x-forwarded-for': '198.51.100.78' })).toBe(401);
  });
});
