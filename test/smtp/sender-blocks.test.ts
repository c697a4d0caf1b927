import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { codes, rawSmtp, startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { newId } from '../../src/ids.js';

/** Sender blocking (POST /api/blocks) at the SMTP door: 550 at RCPT TO or after DATA, nothing stored. */
describe('sender blocks', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let alice: { userId: string; domainId: string };
  let bob: { userId: string; domainId: string };
  let aliceOther: string;

  beforeEach(async () => {
    deps = testDeps();
    const a = await seedUserAndDomain(deps, 'alice.test');
    alice = { userId: a.user.id, domainId: a.domain.id };
    await addRoute(deps, alice, { match: '*@alice.test' });
    // A second domain of Alice's account.
    aliceOther = newId('dom');
    await deps.repos.domains.insert({ id: aliceOther, userId: a.user.id, name: 'alice-two.test', status: 'verified', verificationToken: 't', verifiedAt: 1, webhookUrl: null, webhookSecret: null, createdAt: 1 });
    await addRoute(deps, { userId: a.user.id, domainId: aliceOther }, { match: '*@alice-two.test' });
    const b = await seedUserAndDomain(deps, 'bob.test');
    bob = { userId: b.user.id, domainId: b.domain.id };
    await addRoute(deps, bob, { match: '*@bob.test' });
    smtp = await startSmtp(deps);
  });

  afterEach(async () => {
    await smtp.close();
    deps.cleanup();
  });

  const block = async (owner: { userId: string }, pattern: string, domainId: string | null = null) =>
    await deps.repos.senderBlocks.insert({ id: newId('blk'), userId: owner.userId, domainId, pattern, createdAt: deps.now() });
  const stored = () => deps.db.prepare('SELECT user_id AS userId, rcpt_to AS rcpt FROM messages ORDER BY id').all() as { userId: string; rcpt: string }[];

  const session = (from: string, rcpts: string[], headerFrom = from) =>
    rawSmtp(
      smtp.port,
      `EHLO client.test\r\nMAIL FROM:<${from}>\r\n${rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join('')}DATA\r\n` +
        `From: <${headerFrom}>\r\nSubject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n`,
    );

  it('refuses a blocked MAIL FROM with 550 at RCPT TO for the blocking account only; the other account gets its copy', async () => {
    await block(alice, 'spammer@evil.test');
    const lines = await session('Spammer@EVIL.test', ['x@alice.test', 'y@bob.test']);
    const c = codes(lines);
    // 220, 250 EHLO (multi-line collapses to its codes), 250 MAIL, 550 RCPT alice, 250 RCPT bob, 354, 250, 221
    expect(lines.find((l) => l.startsWith('550'))).toMatch(/blocked/i);
    expect(c.filter((x) => x === 550)).toHaveLength(1);
    expect(c).toContain(354);
    expect(stored()).toEqual([{ userId: bob.userId, rcpt: JSON.stringify(['y@bob.test']) }]);
  });

  it('a transaction with only blocking recipients stores nothing: no DATA at all', async () => {
    await block(alice, '*@evil.test');
    const lines = await session('x@evil.test', ['x@alice.test', 'z@alice-two.test']);
    expect(codes(lines).filter((x) => x === 550)).toHaveLength(2);
    expect(codes(lines)).not.toContain(354);
    expect(stored()).toEqual([]);
  });

  it('refuses a blocked header From after DATA with 550 and stores nothing, blobs included', async () => {
    await block(alice, 'evil.test'); // the domain and its subdomains
    const lines = await session('innocent@relay.test', ['x@alice.test'], 'ceo@mail.evil.test');
    expect(codes(lines)).toContain(354);
    const last = lines.filter((l) => /^\d{3} /.test(l)).at(-2)!; // the reply to DATA, before 221
    expect(last).toMatch(/^550 .*blocked/i);
    expect(stored()).toEqual([]);
    // The raw copy written while parsing was removed again.
    const dir = join(deps.config.dataDir, 'blobs');
    const files = existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];
    expect(files).toEqual([]);
  });

  it("another account's blocks don't apply; a domain-scoped block applies to that domain only", async () => {
    await block(bob, '*@evil.test');
    await block(alice, 'x@evil.test', aliceOther);
    const lines = await session('x@evil.test', ['a@alice.test', 'b@alice-two.test']);
    expect(codes(lines).filter((x) => x === 550)).toHaveLength(1); // alice-two only
    expect(stored()).toEqual([{ userId: alice.userId, rcpt: JSON.stringify(['a@alice.test']) }]);
  });

  it('header From blocked by one account of two: 250, only the other account keeps a copy', async () => {
    await block(bob, 'ceo@evil.test');
    const lines = await session('ok@relay.test', ['a@alice.test', 'b@bob.test'], 'ceo@evil.test');
    expect(lines.some((l) => l.startsWith('250') && l.includes('queued as'))).toBe(true);
    expect(stored()).toEqual([{ userId: alice.userId, rcpt: JSON.stringify(['a@alice.test']) }]);
  });

  it('the null sender (bounces) is never blocked', async () => {
    await block(alice, 'evil.test');
    const lines = await rawSmtp(smtp.port, 'EHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<x@alice.test>\r\nDATA\r\nSubject: bounce\r\n\r\nb\r\n.\r\nQUIT\r\n');
    expect(codes(lines)).not.toContain(550);
    expect(stored()).toHaveLength(1);
  });

  it('through the API: POST, GET, DELETE /api/blocks; validation; tenancy', async () => {
    const app = createApp(deps);
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
    };
    const signup = async () => {
      const res = await app.request('/api/auth/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `u${Math.random().toString(36).slice(2)}@example.org`, password: 'correct horse battery' }),
      });
      return (await res.json()) as { token: string; user: { id: string } };
    };
    const carol = await signup();
    const mallory = await signup();
    const dom = await call('POST', '/api/domains', carol.token, { name: 'carol.test' });
    await deps.repos.domains.setStatus(dom.body.id, 'verified', deps.now(), null);
    await addRoute(deps, { userId: carol.user.id, domainId: dom.body.id }, { match: '*@carol.test' });

    const made = await call('POST', '/api/blocks', carol.token, { pattern: '  Spam@Evil.TEST ', domain_id: dom.body.id });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: expect.stringMatching(/^blk_/), domain_id: dom.body.id, pattern: 'spam@evil.test' });
    expect((await call('POST', '/api/blocks', carol.token, { pattern: 'spam@evil.test', domain_id: dom.body.id })).status).toBe(409);
    for (const pattern of ['', 'not a pattern', 'a@b', '*@', 'x@-bad-.test']) {
      const bad = await call('POST', '/api/blocks', carol.token, { pattern });
      expect(bad.status, pattern).toBe(400);
      expect(bad.body.error).toMatch(/pattern/);
    }
    // Another account's domain is 404, and its list does not show Carol's blocks.
    expect((await call('POST', '/api/blocks', mallory.token, { pattern: 'x@y.test', domain_id: dom.body.id })).status).toBe(404);
    expect((await call('GET', '/api/blocks', mallory.token)).body.data).toEqual([]);
    expect((await call('DELETE', `/api/blocks/${made.body.id}`, mallory.token)).status).toBe(404);
    expect((await call('GET', '/api/blocks', carol.token)).body.data.map((b: { pattern: string }) => b.pattern)).toEqual(['spam@evil.test']);

    expect(codes(await session('spam@evil.test', ['x@carol.test'])).filter((x) => x === 550)).toHaveLength(1);
    expect((await call('DELETE', `/api/blocks/${made.body.id}`, carol.token)).status).toBe(204);
    expect((await call('DELETE', `/api/blocks/${made.body.id}`, carol.token)).status).toBe(404);
    expect(codes(await session('spam@evil.test', ['x@carol.test']))).not.toContain(550);
  });
});
