import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationOf, LEASE_EXPIRED, type AttemptOutcome } from '../../src/db/deliveries.js';
import type { StoredAttachment, StoredMessage } from '../../src/db/messages.js';
import { isUniqueViolation, type InboundCopy, type Repository, type SendToQueue } from '../../src/db/repository.js';
import { newId } from '../../src/ids.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import { ENGINES, openRepository, stopPgCluster, type Engine } from '../helpers/repositories.js';

/**
 * The repository contract (DESIGN §10): one suite, run against both engines. What a caller can
 * observe through the Repository must be the same on SQLite and PostgreSQL: results, ordering,
 * cursors, conflicts, what counts as changed, the queue's leases and fences. Where the engines
 * differ on purpose (start-up recovery) the case says so.
 */

const T0 = 1_800_000_000_000;
const MIN = 60_000;

const destOf = (c: InboundCopy) => destinationOf(c.deliveries[0]!.url);

const outcome = (at: number, status: AttemptOutcome['status'], code = 200): AttemptOutcome => ({
  finishedAt: at,
  statusCode: code,
  latencyMs: 12,
  responseBody: 'ok',
  error: null,
  status,
  nextAttemptAt: status === 'pending' ? at + MIN : null,
});

async function user(repo: Repository, email = `${newId('usr').slice(-8)}@example.test`) {
  return repo.users.insert({ id: newId('usr'), email, passwordHash: 'scrypt$x', googleSub: null, createdAt: T0 });
}

async function domain(repo: Repository, userId: string, name = `${newId('dom').slice(-10)}.test`, verified = true) {
  const d = {
    id: newId('dom'),
    userId,
    name,
    status: 'pending' as const,
    verificationToken: 'tok',
    verifiedAt: null,
    webhookUrl: 'https://hooks.example.test/catch-all',
    webhookSecret: `whsec_${name}`,
    createdAt: T0,
  };
  await repo.domains.insert(d);
  if (verified) await repo.domains.setStatus(d.id, 'verified', T0, { mx: true });
  return d;
}

function message(userId: string, domainId: string, opts: { id?: string; from?: string; rcpt?: string[]; at?: number } = {}): StoredMessage {
  const at = opts.at ?? T0;
  return {
    id: opts.id ?? newId('msg', at),
    userId,
    domainId,
    envelope: { mailFrom: 'sender@remote.test', rcptTo: opts.rcpt ?? ['a@x.test'], helo: 'mx.remote.test', remoteIp: '192.0.2.1', tls: true },
    parsed: { ...emptyParsed(), subject: 'hello', from: { address: opts.from ?? 'Sender@Remote.test', name: 'S' } },
    auth: { spf: 'pass' } as StoredMessage['auth'],
    spam: null,
    size: 123,
    rawKey: `msg/x/raw.eml`,
    parseError: null,
    receivedAt: at,
    purgedAt: null,
  };
}

function attachment(messageId: string, index: number): StoredAttachment {
  return {
    id: newId('att'),
    messageId,
    index,
    filename: `f${index}.txt`,
    contentType: 'text/plain',
    size: 5,
    sha256: 'ab'.repeat(32),
    contentId: '',
    blobKey: `msg/${messageId}/${index}`,
  };
}

/** One account's copy with `n` webhook deliveries to a host of its own (so queue reads see only its rows). */
function copy(userId: string, domainId: string, opts: { at?: number; deliveries?: number; rcpt?: { address: string; domainId: string }[]; from?: string } = {}): InboundCopy {
  const m = message(userId, domainId, { at: opts.at, from: opts.from, rcpt: opts.rcpt?.map((r) => r.address) });
  const host = `h-${m.id.slice(-10)}.example.test`;
  m.rawKey = `msg/${m.id}/raw.eml`;
  return {
    message: m,
    attachments: [attachment(m.id, 0), attachment(m.id, 1)],
    inlineBlobs: [{ key: m.rawKey, data: Buffer.from(`raw of ${m.id}`) }],
    recipients: opts.rcpt ?? [{ address: 'A@x.test', domainId }],
    deliveries: Array.from({ length: opts.deliveries ?? 1 }, (_, i) => ({
      id: newId('dlv'),
      userId,
      messageId: m.id,
      routeId: null,
      domainId,
      url: `https://${host}/in/${i}`,
      secret: 'whsec_x',
    })),
    forwards: [],
  };
}

/** A send whose recipients have a destination of its own. */
function send(userId: string, domainId: string, to: string[], at = T0): SendToQueue {
  const id = newId('snd', at);
  return {
    id,
    userId,
    domainId,
    kind: 'send',
    sourceMessageId: null,
    routeId: null,
    fromAddress: 'me@mine.test',
    subject: 'out',
    messageId: `<${newId('snd')}@mine.test>`,
    mailFrom: `bounce+${newId('snd').slice(-6)}@mine.test`,
    raw: Buffer.from('From: me@mine.test\r\n\r\nhi\r\n'),
    createdAt: at,
    recipients: to.map((address) => ({ id: newId('rcp'), address, dest: `mx:${address.split('@')[1]}:${id}` })),
  };
}

afterAll(stopPgCluster);

describe.each(ENGINES)('repository contract: %s', (engine: Engine) => {
  let repo: Repository;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ repo, close } = await openRepository(engine));
  }, 120_000);
  afterAll(async () => close?.());

  it('reports its engine and answers ping', async () => {
    expect(repo.engine).toBe(engine);
    await expect(repo.ping()).resolves.toBeUndefined();
  });

  it('users: insert, lookups, unique email, google sub', async () => {
    const u = await user(repo, 'Someone@Example.test');
    expect(await repo.users.get(u.id)).toEqual(u);
    expect(await repo.users.getByEmail('Someone@Example.test')).toEqual(u);
    expect(await repo.users.getByEmail('nobody@example.test')).toBeNull();
    // The API answers 409 for this on either engine (src/db/errors.ts).
    expect(isUniqueViolation(await repo.users.insert({ ...u, id: newId('usr') }).catch((e: unknown) => e))).toBe(true);
    await repo.users.setGoogleSub(u.id, 'g-123');
    expect((await repo.users.getByGoogleSub('g-123'))?.id).toBe(u.id);
  });

  it('domains: scoped by owner, cursor list newest first, one verified holder per name, first DKIM key wins', async () => {
    const a = await user(repo);
    const b = await user(repo);
    const ds = [];
    for (let i = 0; i < 5; i++) ds.push(await domain(repo, a.id, `d${i}-${a.id.slice(-6)}.test`, false));
    expect(await repo.domains.get(b.id, ds[0]!.id)).toBeNull();
    expect((await repo.domains.get(a.id, ds[0]!.id))?.name).toBe(ds[0]!.name);
    const page1 = await repo.domains.list(a.id, { limit: 2 });
    expect(page1.map((d) => d.id)).toEqual([ds[4]!.id, ds[3]!.id]);
    const page2 = await repo.domains.list(a.id, { before: page1[1]!.id, limit: 10 });
    expect(page2.map((d) => d.id)).toEqual([ds[2]!.id, ds[1]!.id, ds[0]!.id]);

    const name = `shared-${a.id.slice(-6)}.test`;
    const mine = await domain(repo, a.id, name, true);
    const theirs = await domain(repo, b.id, name, false);
    expect((await repo.domains.findVerified(name))?.id).toBe(mine.id);
    expect(isUniqueViolation(await repo.domains.setStatus(theirs.id, 'verified', T0, null).catch((e: unknown) => e))).toBe(true);
    expect(isUniqueViolation(await repo.domains.insert({ ...mine, id: newId('dom') }).catch((e: unknown) => e))).toBe(true); // (user, name)
    expect((await repo.domains.getByName(b.id, name))?.id).toBe(theirs.id);
    expect((await repo.domains.get(a.id, mine.id))?.lastCheck).toEqual({ mx: true });

    await repo.domains.setDkimKey(mine.id, { selector: 's1', publicKey: 'p1', privateKeySealed: 'k1' });
    await repo.domains.setDkimKey(mine.id, { selector: 's2', publicKey: 'p2', privateKeySealed: 'k2' });
    await repo.domains.setDkimVerified(mine.id, T0 + 1);
    await repo.domains.setDkimVerified(mine.id, T0 + 2);
    await repo.domains.setWebhook(mine.id, 'https://h.test/x', 'whsec_1', 'raw');
    const got = (await repo.domains.getById(mine.id))!;
    expect(got.dkim).toEqual({ selector: 's1', publicKey: 'p1', privateKeySealed: 'k1' });
    expect(got.dkimVerifiedAt).toBe(T0 + 1);
    expect([got.webhookUrl, got.webhookSecret, got.webhookPayload]).toEqual(['https://h.test/x', 'whsec_1', 'raw']);
    expect(await repo.domains.delete(b.id, mine.id)).toBe(false);
    expect(await repo.domains.delete(b.id, theirs.id)).toBe(true);
  });

  it('routes and sender blocks: flags and filters round-trip, run order, filters and cursors', async () => {
    const u = await user(repo);
    const d1 = await domain(repo, u.id);
    const d2 = await domain(repo, u.id);
    const base = { userId: u.id, action: 'webhook' as const, destination: 'https://h.test/r', secret: 'whsec_r', createdAt: T0, updatedAt: T0 };
    const r1 = { ...base, id: newId('rte'), domainId: d1.id, match: '*@a.test', priority: 20, stop: true, filters: { subject: 'x*' }, enabled: true, payload: 'json+attachments' as const };
    const r2 = { ...base, id: newId('rte'), domainId: d1.id, match: 'b@a.test', priority: 10, stop: false, filters: null, enabled: true };
    const r3 = { ...base, id: newId('rte'), domainId: d2.id, match: '/x/', priority: 5, stop: false, filters: null, enabled: false };
    for (const r of [r1, r2, r3]) await repo.routes.insert(r);
    expect(await repo.routes.get(u.id, r1.id)).toEqual(r1);
    expect((await repo.routes.get(u.id, r2.id))?.payload).toBe('json');
    expect((await repo.routes.enabledForDomain(d1.id)).map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect(await repo.routes.enabledForDomain(d2.id)).toEqual([]);
    await repo.routes.update({ ...r3, enabled: true, stop: true, priority: 1, updatedAt: T0 + 5 });
    expect(await repo.routes.get(u.id, r3.id)).toMatchObject({ enabled: true, stop: true, priority: 1, updatedAt: T0 + 5 });
    expect((await repo.routes.list(u.id, { domainId: d1.id, limit: 10 })).map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect((await repo.routes.list(u.id, { before: r2.id, limit: 10 })).map((r) => r.id)).toEqual([r1.id]);
    expect(await repo.routes.delete('usr_other', r1.id)).toBe(false);
    expect(await repo.routes.delete(u.id, r1.id)).toBe(true);

    const b1 = { id: newId('blk'), userId: u.id, domainId: null, pattern: 'spam.test', createdAt: T0 };
    const b2 = { id: newId('blk'), userId: u.id, domainId: d2.id, pattern: 'x@y.test', createdAt: T0 };
    await repo.senderBlocks.insert(b1);
    await repo.senderBlocks.insert(b2);
    expect(await repo.senderBlocks.find(u.id, null, 'spam.test')).toEqual(b1);
    expect(await repo.senderBlocks.find(u.id, d1.id, 'spam.test')).toBeNull();
    expect((await repo.senderBlocks.patternsFor(u.id, d1.id)).sort()).toEqual(['spam.test']);
    expect((await repo.senderBlocks.patternsFor(u.id, d2.id)).sort()).toEqual(['spam.test', 'x@y.test']);
    expect(await repo.senderBlocks.count(u.id)).toBe(2);
    expect((await repo.senderBlocks.list(u.id, { domainId: d2.id, limit: 5 })).map((b) => b.id)).toEqual([b2.id]);
  });

  it('sessions and API keys: lookups by hash, expiry, revoked keys leave lists and stay revoked', async () => {
    const u = await user(repo);
    const s = { id: newId('ses'), userId: u.id, tokenHash: `h${newId('ses')}`, createdAt: T0, expiresAt: T0 + 10, lastUsedAt: null };
    await repo.sessions.insert(s);
    await repo.sessions.touch(s.id, T0 + 1);
    expect(await repo.sessions.getByTokenHash(s.tokenHash)).toEqual({ ...s, lastUsedAt: T0 + 1 });
    await repo.sessions.deleteExpired(u.id, T0 + 10);
    expect(await repo.sessions.getByTokenHash(s.tokenHash)).toBeNull();

    const key = (n: number) => ({
      id: newId('key'), userId: u.id, name: `k${n}`, prefix: 'mhk_ab', keyHash: `kh${newId('key')}`, scopes: ['messages:read'],
      domainId: null, createdAt: T0, lastUsedAt: null, revokedAt: null,
    });
    const k1 = key(1);
    const k2 = key(2);
    await repo.apiKeys.insert(k1);
    await repo.apiKeys.insert(k2);
    expect(await repo.apiKeys.getByKeyHash(k1.keyHash)).toEqual(k1);
    expect(await repo.apiKeys.revoke(u.id, k1.id, T0 + 3)).toBe(true);
    expect(await repo.apiKeys.revoke(u.id, k1.id, T0 + 4)).toBe(false);
    expect(await repo.apiKeys.get(u.id, k1.id)).toBeNull();
    expect((await repo.apiKeys.getByKeyHash(k1.keyHash))?.revokedAt).toBe(T0 + 3);
    expect((await repo.apiKeys.list(u.id, { limit: 10 })).map((k) => k.id)).toEqual([k2.id]);
  });

  it('storeInbound: the rows of one SMTP transaction, read back with their domains, attachments and blobs', async () => {
    const u = await user(repo);
    const d1 = await domain(repo, u.id);
    const d2 = await domain(repo, u.id);
    await repo.suppressions.add({ userId: u.id, address: 'Gone@Far.test', reason: 'bounce', detail: '550', sendId: null }, T0);
    const c = copy(u.id, d1.id, { deliveries: 2, rcpt: [{ address: 'b@two.test', domainId: d2.id }, { address: 'A@one.test', domainId: d1.id }] });
    const fwd = { ...send(u.id, d1.id, ['gone@far.test', 'ok@far.test']), kind: 'forward' as const, raw: null, sourceMessageId: c.message.id };
    c.forwards.push(fwd);
    await repo.storeInbound([c], T0);

    const m = (await repo.messages.get(u.id, c.message.id))!;
    expect(m.domainIds).toEqual([d1.id, d2.id]);
    expect(m.envelope).toEqual(c.message.envelope);
    expect(m.parsed).toEqual(c.message.parsed);
    expect(m.auth).toEqual({ spf: 'pass' });
    expect(await repo.messages.get('usr_other', c.message.id)).toBeNull();
    expect(await repo.messages.attachments(c.message.id)).toEqual(c.attachments);
    expect(await repo.messages.attachment(c.message.id, 1)).toEqual(c.attachments[1]);
    expect(await repo.messages.attachment(c.message.id, 2)).toBeNull();
    expect((await repo.blobs.get(c.message.rawKey))?.toString()).toBe(`raw of ${c.message.id}`);
    expect(await repo.blobs.has(c.message.rawKey)).toBe(true);
    expect(await repo.blobs.external([c.message.rawKey, 'msg/elsewhere/0'])).toEqual(['msg/elsewhere/0']);
    const ds = await repo.deliveries.forMessage(c.message.id);
    expect(ds.map((d) => d.id)).toEqual(c.deliveries.map((d) => d.id).sort());
    expect(ds[0]).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T0, dest: destOf(c), payload: 'json', domainId: d1.id });
    const recipients = await repo.sends.recipients(fwd.id);
    expect(recipients.map((r) => [r.address, r.status, r.nextAttemptAt])).toEqual(
[
      ['gone@far.test', 'suppressed', null],
      ['ok@far.test', 'queued', T0],
    ]);
    expect((await repo.sends.forMessage(c.message.id)).map((s) => s.id)).toEqual([fwd.id]);
    expect(await repo.sends.raw(fwd.id)).toBeNull();
  });

  it('storeInbound is all or nothing: a failing copy leaves no row of the transaction', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const good = copy(u.id, d.id);
    const bad = copy(u.id, d.id);
    bad.deliveries[0]!.id = good.deliveries[0]!.id; // duplicate primary key
    await expect(repo.storeInbound([good, bad], T0)).rejects.toThrow();
    expect(await repo.messages.getById(good.message.id)).toBeNull();
    expect(await repo.blobs.get(good.message.rawKey)).toBeNull();
  });

  it('messages.list: recipient, domain, sender and time filters, newest first, cursor', async () => {
    const u = await user(repo);
    const d1 = await domain(repo, u.id);
    const d2 = await domain(repo, u.id);
    const P = T0 - 1e9; // older than every other case's mail: the retention reads below see only these
    const both = copy(u.id, d1.id, { at: P + 1, rcpt: [{ address: 'a@one.test', domainId: d1.id }, { address: 'b@two.test', domainId: d2.id }] });
    const one = copy(u.id, d1.id, { at: P + 2, from: 'boss@corp.test', rcpt: [{ address: 'a@one.test', domainId: d1.id }] });
    const two = copy(u.id, d2.id, { at: P + 3, rcpt: [{ address: 'c@two.test', domainId: d2.id }] });
    await repo.storeInbound([both, one, two], P + 3);
    const ids = async (f: Omit<Parameters<Repository['messages']['list']>[0], 'userId' | 'limit'> & { limit?: number }) =>
      (await repo.messages.list({ userId: u.id, limit: 10, ...f })).map((m) => m.id);
    expect(await ids({})).toEqual([two.message.id, one.message.id, both.message.id]);
    expect(await ids({ domainId: d2.id })).toEqual([two.message.id, both.message.id]);
    expect(await ids({ domainId: d1.id })).toEqual([one.message.id, both.message.id]);
    expect(await ids({ recipient: 'A@ONE.test' })).toEqual([one.message.id, both.message.id]);
    expect(await ids({ recipient: 'a@one.test', domainId: d2.id })).toEqual([both.message.id]);
    expect(await ids({ from: 'BOSS@corp.test' })).toEqual([one.message.id]);
    expect(await ids({ since: P + 2 })).toEqual([two.message.id, one.message.id]);
    expect(await ids({ until: P + 2 })).toEqual([both.message.id]);
    expect(await ids({ limit: 1 })).toEqual([two.message.id]);
    expect(await ids({ before: two.message.id, limit: 1 })).toEqual([one.message.id]);
    expect(await repo.messages.list({ userId: 'usr_other', limit: 10 })).toEqual([]);
    expect((await repo.messages.unpurgedBefore(P + 3, 10)).map((m) => m.id)).toEqual([both.message.id, one.message.id]);
    await repo.purgeAttachments(both.message.id, [both.message.rawKey], P + 9);
    expect((await repo.messages.getById(both.message.id))?.purgedAt).toBe(P + 9);
    expect(await repo.blobs.has(both.message.rawKey)).toBe(false);
    expect((await repo.messages.unpurgedBefore(P + 3, 10)).map((m) => m.id)).toEqual([one.message.id]);
    expect((await repo.messages.receivedBefore(P + 3, 10)).map((m) => m.id)).toEqual([both.message.id, one.message.id]);
  });

  it('deliveries: claim leases, a second claim under the lease gets nothing, finish settles, attempts are logged', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const c = copy(u.id, d.id, { deliveries: 3 });
    await repo.storeInbound([c], T0);
    const ids = c.deliveries.map((x) => x.id);
    expect(await repo.deliveries.pendingDestinations()).toContainEqual({ dest: destOf(c), nextAt: T0 });
    expect((await repo.deliveries.dueFor(destOf(c), T0, 100)).map((x) => x.id)).toEqual(expect.arrayContaining(ids));
    const claimed = await repo.deliveries.claim([ids[2]!, ids[0]!], T0 + 1, T0 + 1 + 40_000);
    expect(claimed.map((x) => x.delivery.id)).toEqual([ids[2], ids[0]]);
    expect(claimed[0]!.delivery).toMatchObject({ attempts: 1, nextAttemptAt: T0 + 40_001 });
    expect(await repo.deliveries.claim([ids[0]!], T0 + 2, T0 + 50_000)).toEqual([]);
    expect((await repo.deliveries.dueFor(destOf(c), T0 + 2, 100)).map((x) => x.id)).toEqual([ids[1]]);
    expect(await repo.deliveries.finish(ids[2]!, claimed[0]!.attemptId, outcome(T0 + 3, 'delivered'))).toBe(true);
    expect(await repo.deliveries.finish(ids[0]!, claimed[1]!.attemptId, outcome(T0 + 3, 'pending', 500))).toBe(true);
    expect(await repo.deliveries.getById(ids[2]!)).toMatchObject({ status: 'delivered', nextAttemptAt: null, lastStatus: 200 });
    expect(await repo.deliveries.get(u.id, ids[0]!)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 3 + MIN, lastStatus: 500 });
    expect(await repo.deliveries.attempts(ids[2]!)).toEqual([
      { id: claimed[0]!.attemptId, deliveryId: ids[2], startedAt: T0 + 1, finishedAt: T0 + 3, statusCode: 200, latencyMs: 12, responseBody: 'ok', error: null },
    ]);
    // A finished attempt cannot be finished again.
    expect(await repo.deliveries.finish(ids[2]!, claimed[0]!.attemptId, outcome(T0 + 4, 'failed', 410))).toBe(false);
    expect((await repo.deliveries.getById(ids[2]!))?.status).toBe('delivered');
    const again = await repo.deliveries.requeue(u.id, ids[2]!, T0 + 5);
    expect(again).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 5 });
    expect(await repo.deliveries.requeue('usr_other', ids[2]!, T0 + 5)).toBeNull();
  });

  it('finishAttempts: attempts that ended together are recorded in one call, a stale one changes nothing', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const c = copy(u.id, d.id, { deliveries: 3 });
    await repo.storeInbound([c], T0);
    const ids = c.deliveries.map((x) => x.id);
    const claimed = await repo.deliveries.claim(ids, T0 + 1, T0 + 40_001);
    const attemptOf = new Map(claimed.map((x) => [x.delivery.id, x.attemptId]));
    // ids[1]'s lease runs out and another claim takes it over: its first attempt is stale.
    const [over] = await repo.deliveries.claim([ids[1]!], T0 + 40_001, T0 + 80_001);
    expect(await repo.finishAttempts([])).toEqual([]);
    const done = await repo.finishAttempts([
      { deliveryId: ids[2]!, attemptId: attemptOf.get(ids[2]!)!, outcome: outcome(T0 + 40_002, 'delivered') },
      { deliveryId: ids[1]!, attemptId: attemptOf.get(ids[1]!)!, outcome: outcome(T0 + 40_002, 'failed', 410) },
      { deliveryId: ids[0]!, attemptId: attemptOf.get(ids[0]!)!, outcome: outcome(T0 + 40_002, 'pending', 503) },
    ]);
    expect(done).toEqual([true, false, true]);
    expect(await repo.deliveries.getById(ids[2]!)).toMatchObject({ status: 'delivered', nextAttemptAt: null, lastStatus: 200 });
    expect(await repo.deliveries.getById(ids[0]!)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 40_002 + MIN, lastStatus: 503 });
    expect(await repo.deliveries.getById(ids[1]!)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 80_001 });
    expect((await repo.deliveries.attempts(ids[0]!)).map((a) => [a.finishedAt, a.statusCode, a.error])).toEqual([[T0 + 40_002, 503, null]]);
    expect((await repo.deliveries.attempts(ids[1]!)).map((a) => [a.finishedAt, a.statusCode, a.error])).toEqual([
      [T0 + 40_001, null, LEASE_EXPIRED],
      [null, null, null],
    ]);
    // The same attempts again: already closed, nothing changes.
    expect(
      await repo.finishAttempts([
        { deliveryId: ids[2]!, attemptId: attemptOf.get(ids[2]!)!, outcome: outcome(T0 + 40_003, 'failed', 410) },
        { deliveryId: ids[1]!, attemptId: over!.attemptId, outcome: outcome(T0 + 40_003, 'delivered') },
      ]),
    ).toEqual([false, true]);
    expect((await repo.deliveries.getById(ids[2]!))?.status).toBe('delivered');
    expect((await repo.deliveries.getById(ids[1]!))?.status).toBe('delivered');
  });

  it('deliveries: an expired lease is taken over; the old attempt is closed and its late finish changes nothing', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const c = copy(u.id, d.id);
    await repo.storeInbound([c], T0);
    const id = c.deliveries[0]!.id;
    const [a] = await repo.deliveries.claim([id], T0, T0 + 40_000); // node A, then A stops answering
    const [b] = await repo.deliveries.claim([id], T0 + 40_000, T0 + 80_000); // node B, once the lease ran out
    expect(b!.delivery.attempts).toBe(2);
    expect(await repo.deliveries.finish(id, a!.attemptId, outcome(T0 + 40_001, 'failed', 410))).toBe(false);
    expect((await repo.deliveries.getById(id))?.status).toBe('pending');
    expect(await repo.deliveries.finish(id, b!.attemptId, outcome(T0 + 40_002, 'delivered'))).toBe(true);
    const log = await repo.deliveries.attempts(id);
    expect(log.map((x) => [x.id, x.finishedAt, x.error, x.statusCode])).toEqual([
      [a!.attemptId, T0 + 40_000, LEASE_EXPIRED, null],
      [b!.attemptId, T0 + 40_002, null, 200],
    ]);
    expect((await repo.deliveries.getById(id))?.status).toBe('delivered');
  });

  it('storeInbound: a delivery with leaseUntil is written leased, its attempt open (born leased, issue 14): not due until the lease ends, finished by attempt id, taken over after', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const c = copy(u.id, d.id, { deliveries: 3 });
    c.deliveries[0]!.leaseUntil = T0 + 40_000;
    c.deliveries[1]!.leaseUntil = T0 + 40_000;
    const attempts = await repo.storeInbound([c], T0);
    const [posted, stuck, plain] = c.deliveries.map((x) => x.id) as [string, string, string];
    expect([...attempts.keys()].sort()).toEqual([posted, stuck].sort());
    for (const id of [posted, stuck]) {
      expect(await repo.deliveries.getById(id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: T0 + 40_000, createdAt: T0, updatedAt: T0 });
      expect(await repo.deliveries.attempts(id)).toEqual([
        { id: attempts.get(id), deliveryId: id, startedAt: T0, finishedAt: null, statusCode: null, latencyMs: null, responseBody: null, error: null },
      ]);
    }
    expect(await repo.deliveries.getById(plain)).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T0 });
    expect(await repo.deliveries.attempts(plain)).toEqual([]);
    // Under the lease: neither due nor claimable; the destination's earliest is the plain row.
    expect((await repo.deliveries.dueFor(destOf(c), T0 + 39_999, 10)).map((x) => x.id)).toEqual([plain]);
    expect(await repo.deliveries.claim([posted, stuck], T0 + 39_999, T0 + 80_000)).toEqual([]);
    expect(await repo.finishAttempts([{ deliveryId: posted, attemptId: attempts.get(posted)!, outcome: outcome(T0 + 5, 'delivered') }])).toEqual([true]);
    expect(await repo.deliveries.getById(posted)).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200 });
    // A post that never ended: due when the lease ends, its open attempt closed by the claim that takes it over.
    expect((await repo.deliveries.dueFor(destOf(c), T0 + 40_000, 10)).map((x) => x.id).sort()).toEqual([stuck, plain].sort());
    const [over] = await repo.deliveries.claim([stuck], T0 + 40_000, T0 + 80_000);
    expect(over!.delivery.attempts).toBe(2);
    expect(await repo.deliveries.finish(stuck, attempts.get(stuck)!, outcome(T0 + 40_001, 'delivered'))).toBe(false);
    expect((await repo.deliveries.attempts(stuck)).map((a) => [a.id, a.error])).toEqual([
      [attempts.get(stuck), LEASE_EXPIRED],
      [over!.attemptId, null],
    ]);
    // One at a time (deliveries.insert) as in the transaction.
    const one = { ...c.deliveries[2]!, id: newId('dlv'), leaseUntil: T0 + 40_000 };
    const attemptId = await repo.deliveries.insert(one, T0);
    expect(await repo.deliveries.attempts(one.id)).toMatchObject([{ id: attemptId, startedAt: T0, finishedAt: null }]);
    expect(await repo.deliveries.getById(one.id)).toMatchObject({ attempts: 1, nextAttemptAt: T0 + 40_000 });
    expect(await repo.deliveries.insert({ ...one, id: newId('dlv'), leaseUntil: undefined }, T0)).toBeNull();
  });

  it('deliveries: concurrent claimers of the same due rows start each delivery exactly once', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const c = copy(u.id, d.id, { deliveries: 40 });
    await repo.storeInbound([c], T0);
    const ids = c.deliveries.map((x) => x.id);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.deliveries.claim(i % 2 ? [...ids].reverse() : ids, T0 + 1, T0 + 40_000)));
    const started = results.flat().map((x) => x.delivery.id);
    expect(started.sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await repo.deliveries.attempts(id)).toHaveLength(1);
  });

  it('recoverInterrupted closes attempts whose lease ran out; SQLite (one node, at start-up) also closes leased ones', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const c = copy(u.id, d.id, { deliveries: 2 });
    await repo.storeInbound([c], T0);
    const [dead, live] = c.deliveries.map((x) => x.id) as [string, string];
    await repo.deliveries.claim([dead], T0, T0 + 1_000);
    await repo.deliveries.claim([live], T0, T0 + 100_000);
    const n = await repo.deliveries.recoverInterrupted(T0 + 2_000, 'interrupted');
    expect((await repo.deliveries.attempts(dead))[0]).toMatchObject({ finishedAt: T0 + 2_000, error: 'interrupted' });
    expect(await repo.deliveries.getById(dead)).toMatchObject({ status: 'pending', lastError: 'interrupted' });
    expect((await repo.deliveries.dueFor(destOf(c), T0 + 2_000, 10)).map((x) => x.id)).toContain(dead);
    // PostgreSQL: a live lease belongs to another node that is still working on it.
    const liveAttempt = (await repo.deliveries.attempts(live))[0]!;
    // (n counts other cases' open attempts too: the database is shared by this file's cases.)
    if (engine === 'postgres') {
      expect(liveAttempt.finishedAt).toBeNull();
      expect(n).toBeGreaterThanOrEqual(1);
    } else {
      expect(liveAttempt.finishedAt).toBe(T0 + 2_000);
      expect(n).toBeGreaterThanOrEqual(2);
    }
  });

  it('deliveries.list and a restricted key’s view: filters, newest first, cursor', async () => {
    const u = await user(repo);
    const d1 = await domain(repo, u.id);
    const d2 = await domain(repo, u.id);
    const c1 = copy(u.id, d1.id, { deliveries: 2, rcpt: [{ address: 'a@one.test', domainId: d1.id }] });
    const c2 = copy(u.id, d2.id, { deliveries: 1, rcpt: [{ address: 'b@two.test', domainId: d2.id }] });
    c1.deliveries[1]!.routeId = 'rte_someroute';
    await repo.storeInbound([c1, c2], T0);
    const all = [...c1.deliveries, ...c2.deliveries].map((x) => x.id).sort().reverse();
    const [x] = await repo.deliveries.claim([c1.deliveries[0]!.id], T0, T0 + 10);
    await repo.deliveries.finish(c1.deliveries[0]!.id, x!.attemptId, outcome(T0 + 1, 'failed', 410));
    const list = async (f: object) => (await repo.deliveries.list({ userId: u.id, limit: 10, ...f })).map((y) => y.id);
    expect(await list({})).toEqual(all);
    expect(await list({ status: 'failed' })).toEqual([c1.deliveries[0]!.id]);
    expect(await list({ messageId: c2.message.id })).toEqual([c2.deliveries[0]!.id]);
    expect(await list({ routeId: 'rte_someroute' })).toEqual([c1.deliveries[1]!.id]);
    expect(await list({ before: all[0], limit: 1 })).toEqual([all[1]]);
    expect(await repo.deliveries.list({ userId: 'usr_other', limit: 10 })).toEqual([]);
    const mine = (await repo.domainDeliveries.list({ userId: u.id, domainId: d2.id, limit: 10 })).map((y) => y.id);
    expect(mine).toEqual([c2.deliveries[0]!.id]);
    expect(await repo.domainDeliveries.get(u.id, d2.id, c1.deliveries[0]!.id)).toBeNull();
    expect((await repo.domainDeliveries.get(u.id, d1.id, c1.deliveries[0]!.id))?.id).toBe(c1.deliveries[0]!.id);
    expect((await repo.domainDeliveries.forMessage(c1.message.id, d1.id)).map((y) => y.id)).toEqual(c1.deliveries.map((y) => y.id).sort());
  });

  it('removeDomain: pending deliveries fail, shared mail is refiled, the rest cascades; another user’s domain is null', async () => {
    const u = await user(repo);
    const d1 = await domain(repo, u.id);
    const d2 = await domain(repo, u.id);
    const shared = copy(u.id, d1.id, { rcpt: [{ address: 'a@one.test', domainId: d1.id }, { address: 'b@two.test', domainId: d2.id }] });
    const only = copy(u.id, d1.id, { rcpt: [{ address: 'a@one.test', domainId: d1.id }] });
    only.inlineBlobs = [];
    await repo.storeInbound([shared, only], T0);
    expect(await repo.removeDomain('usr_other', d1.id, d1.webhookSecret, T0 + 1)).toBeNull();
    expect(await repo.domains.getById(d1.id)).not.toBeNull();
    const keys = await repo.removeDomain(u.id, d1.id, d1.webhookSecret, T0 + 1);
    // Blobs in the database go with the cascade; only the BlobStore's objects are returned.
    expect(keys?.sort()).toEqual([only.message.rawKey, ...only.attachments.map((a) => a.blobKey)].sort());
    expect(await repo.domains.getById(d1.id)).toBeNull();
    expect(await repo.messages.getById(only.message.id)).toBeNull();
    const kept = (await repo.messages.getById(shared.message.id))!;
    expect(kept.domainId).toBe(d2.id);
    expect(kept.domainIds).toEqual([d2.id]);
    expect(await repo.deliveries.getById(shared.deliveries[0]!.id)).toMatchObject({ status: 'failed', lastError: 'domain deleted', nextAttemptAt: null });
  });

  it('sends: submit with an idempotency key sends once, also for concurrent duplicates; lists filter and page', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const idem = (hash: string) => ({ key: 'k-1', hash, response: `{"id":"first-${hash}"}`, since: T0 - 1 });
    const first = send(u.id, d.id, ['x@far.test']);
    expect(await repo.submitSend(first, idem('h1'))).toBeNull();
    expect(await repo.submitSend(send(u.id, d.id, ['x@far.test']), idem('h2'))).toEqual({ hash: 'h1', response: '{"id":"first-h1"}' });
    const racers = Array.from({ length: 6 }, () => send(u.id, d.id, ['y@far.test']));
    const answers = await Promise.all(racers.map((s) => repo.submitSend(s, { ...idem('h3'), key: 'k-race' })));
    expect(answers.filter((a) => a === null)).toHaveLength(1);
    const sent = (await Promise.all(racers.map((s) => repo.sends.get(u.id, s.id)))).filter(Boolean);
    expect(sent).toHaveLength(1);
    expect(await repo.idempotency.get(u.id, 'k-race', T0 - 1)).toEqual({ hash: 'h3', response: '{"id":"first-h3"}' });
    expect(await repo.idempotency.get(u.id, 'k-race', T0 + 1)).toBeNull(); // older than `since`: as good as absent
    expect(await repo.idempotency.sweep(T0 + 1)).toBe(2);

    const plain = send(u.id, d.id, ['z@far.test'], T0 + 5);
    expect(await repo.submitSend(plain, null)).toBeNull();
    expect((await repo.sends.getById(plain.id))?.mailFrom).toBe(plain.mailFrom);
    expect((await repo.sends.raw(plain.id))?.toString()).toBe(plain.raw!.toString());
    expect((await repo.sends.byMailFrom(plain.mailFrom)).map((s) => s.id)).toEqual([plain.id]);
    const listed = (await repo.sends.list({ userId: u.id, limit: 10 })).map((s) => s.id);
    expect(listed).toEqual([plain.id, first.id, sent[0]!.id].sort().reverse());
    expect((await repo.sends.list({ userId: u.id, limit: 1, before: listed[0] })).map((s) => s.id)).toEqual([listed[1]]);
    expect((await repo.sends.list({ userId: u.id, status: 'sent', limit: 10 }))).toEqual([]);
    expect((await repo.sends.list({ userId: u.id, status: 'queued', domainId: d.id, limit: 10 })).length).toBe(3);
  });

  it('outbound queue: claim, fenced finish with suppression and event, events lease once, DSN bounces apply once', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const s = send(u.id, d.id, ['a@far.test', 'b@far.test']);
    await repo.submitSend(s, null);
    const [ra, rb] = s.recipients as [SendToQueue['recipients'][number], SendToQueue['recipients'][number]];
    expect(await repo.outbound.pendingDestinations()).toContainEqual({ dest: ra.dest, nextAt: T0 });
    expect((await repo.outbound.dueFor(ra.dest, T0, 10)).map((r) => r.id).sort()).toEqual([ra.id, rb.id].sort());
    const claimed = await repo.outbound.claim([ra.id, rb.id], T0 + 1, T0 + 40_000);
    expect(claimed.map((c) => c.recipient.id)).toEqual([ra.id, rb.id]);
    expect(await repo.outbound.claim([ra.id], T0 + 2, T0 + 40_000)).toEqual([]);
    const event = { id: newId('evt'), userId: u.id, sendId: s.id, type: 'email.bounced', url: 'https://h.test/e', secret: 'whsec_e', body: '{}' };
    await repo.finishOutbound(
      [
        { recipientId: ra.id, attemptId: claimed[0]!.attemptId, outcome: { finishedAt: T0 + 3, mx: 'mx:25', code: 250, reply: 'ok', error: null, status: 'sent', nextAttemptAt: null }, suppression: null, event: null },
        {
          recipientId: rb.id, attemptId: claimed[1]!.attemptId,
          outcome: { finishedAt: T0 + 3, mx: 'mx:25', code: 550, reply: 'no such user', error: null, status: 'bounced', nextAttemptAt: null },
          suppression: { userId: u.id, address: 'B@far.test', reason: 'bounce', detail: '550', sendId: s.id }, event,
        },
      ],
      T0 + 3,
    );
    const rs = await repo.sends.recipients(s.id);
    expect(rs.map((r) => [r.id, r.status, r.lastCode])).toEqual([
      [ra.id, 'sent', 250],
      [rb.id, 'bounced', 550],
    ]);
    expect((await repo.suppressions.list(u.id, undefined, 10)).map((x) => x.address)).toEqual(['b@far.test']);
    expect(await repo.outbound.finish(ra.id, claimed[0]!.attemptId, { finishedAt: T0 + 4, mx: null, code: 421, reply: '', error: null, status: 'deferred', nextAttemptAt: T0 + 9 })).toBe(false);
    expect((await repo.sends.attempts(s.id)).map((a) => a.code)).toEqual([250, 550]);

    expect(await repo.outbound.nextEventAt()).toBe(T0 + 3);
    expect((await repo.outbound.dueEvents(T0 + 3, 10)).map((e) => [e.id, e.attempts])).toEqual([[event.id, 0]]);
    const leases = await Promise.all([1, 2, 3].map(() => repo.outbound.leaseEvent(event.id, T0 + 4, T0 + 40_000)));
    expect(leases.filter(Boolean)).toHaveLength(1);
    await repo.outbound.finishEvent(event.id, { finishedAt: T0 + 5, statusCode: 200, error: null, status: 'delivered', nextAttemptAt: null });
    expect(await repo.outbound.dueEvents(T0 + 50_000, 10)).toEqual([]);

    const report = (recipientId: string) => ({
      sendId: s.id, recipientId, bounce: { at: T0 + 6, code: 550, reply: 'dsn: gone' },
      suppression: { userId: u.id, address: 'a@far.test', reason: 'bounce', detail: 'dsn', sendId: s.id }, event: null,
    });
    expect(await repo.applyBounces([report(ra.id), report(rb.id), report('rcp_unknown')], T0 + 6)).toBe(1);
    expect(await repo.applyBounces([report(ra.id)], T0 + 7)).toBe(0);
    expect((await repo.sends.recipients(s.id)).find((r) => r.id === ra.id)).toMatchObject({ status: 'bounced', lastReply: 'dsn: gone' });
    expect((await repo.sends.attempts(s.id)).map((a) => a.mx)).toEqual(['mx:25', 'mx:25', 'dsn']);
    expect(await repo.suppressions.remove(u.id, 'A@FAR.test')).toBe(true);
    expect(await repo.outbound.retryNow(s.id, T0 + 8)).toBe(0); // bounced recipients stay
  });

  it('outbound queue: an event written leased is not due until its lease runs out; events finish together (issue 12)', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const s = send(u.id, d.id, ['one@far.test', 'two@far.test']);
    await repo.submitSend(s, null);
    const [r1, r2] = s.recipients as [SendToQueue['recipients'][number], SendToQueue['recipients'][number]];
    const claimed = await repo.outbound.claim([r1.id, r2.id], T0 + 1, T0 + 40_000);
    const [taken] = await repo.outbound.claim([r2.id], T0 + 40_000, T0 + 80_000); // r2's first attempt taken over: stale
    const ev = (leaseUntil?: number) => ({ id: newId('evt'), userId: u.id, sendId: s.id, type: 'email.sent', url: 'https://h.test/e', secret: 'whsec_e', body: '{}', leaseUntil });
    const leased = ev(T0 + 30_000);
    const stale = ev(T0 + 30_000);
    const sent = { finishedAt: T0 + 2, mx: 'mx:25', code: 250, reply: 'ok', error: null, status: 'sent' as const, nextAttemptAt: null };
    const recorded = await repo.finishOutbound(
      [
        { recipientId: r1.id, attemptId: claimed[0]!.attemptId, outcome: sent, suppression: null, event: leased },
        { recipientId: r2.id, attemptId: claimed[1]!.attemptId, outcome: sent, suppression: null, event: stale },
      ],
      T0 + 2,
    );
    expect(recorded).toEqual([true, false]);
    // Leased as leaseEvent() leaves it: its first attempt counted, no pass (nor node) reads it meanwhile.
    expect(await repo.outbound.dueEvents(T0 + 29_999, 10)).toEqual([]);
    expect(await repo.outbound.leaseEvent(leased.id, T0 + 3, T0 + 60_000)).toBe(false);
    expect(await repo.outbound.nextEventAt()).toBe(T0 + 30_000);
    // A post that never finished (a crash): due again when the lease runs out.
    expect((await repo.outbound.dueEvents(T0 + 30_000, 10)).map((e) => [e.id, e.attempts])).toEqual([[leased.id, 1]]);

    const other = ev();
    await repo.finishOutbound([{ recipientId: r2.id, attemptId: taken!.attemptId, outcome: sent, suppression: null, event: other }], T0 + 40_001);
    expect((await repo.outbound.dueEvents(T0 + 40_001, 10)).map((e) => [e.id, e.attempts])).toEqual([[leased.id, 1], [other.id, 0]]);
    await repo.outbound.finishEvents([
      { id: leased.id, finishedAt: T0 + 40_002, statusCode: 200, error: null, status: 'delivered', nextAttemptAt: null },
      { id: other.id, finishedAt: T0 + 40_002, statusCode: 503, error: null, status: 'pending', nextAttemptAt: T0 + 50_000 },
    ]);
    expect(await repo.outbound.nextEventAt()).toBe(T0 + 50_000);
    expect((await repo.outbound.dueEvents(T0 + 50_000, 10)).map((e) => e.id)).toEqual([other.id]);
    await repo.outbound.finishEvents([]);
  });

  it('outbound queue: an expired lease is taken over and the stale outcome causes nothing', async () => {
    const u = await user(repo);
    const d = await domain(repo, u.id);
    const s = send(u.id, d.id, ['late@far.test']);
    await repo.submitSend(s, null);
    const rid = s.recipients[0]!.id;
    const [a] = await repo.outbound.claim([rid], T0, T0 + 1_000);
    const [b] = await repo.outbound.claim([rid], T0 + 1_000, T0 + 2_000);
    const stale = { finishedAt: T0 + 1_001, mx: 'mx', code: 550, reply: 'no', error: null, status: 'bounced' as const, nextAttemptAt: null };
    await repo.finishOutbound([{ recipientId: rid, attemptId: a!.attemptId, outcome: stale, suppression: { userId: u.id, address: 'late@far.test', reason: 'bounce', detail: '', sendId: s.id }, event: null }], T0 + 1_001);
    expect((await repo.sends.recipients(s.id))[0]).toMatchObject({ status: 'queued', attempts: 2 });
    expect(await repo.suppressions.list(u.id, undefined, 10)).toEqual([]);
    expect(await repo.outbound.finish(rid, b!.attemptId, { ...stale, status: 'failed', code: 554 })).toBe(true);
    expect(await repo.outbound.retryNow(s.id, T0 + 3_000)).toBe(1);
    expect((await repo.sends.recipients(s.id))[0]).toMatchObject({ status: 'deferred', nextAttemptAt: T0 + 3_000 });
    // Interrupted on this engine's terms: the open attempt of an expired lease is closed.
    await repo.outbound.claim([rid], T0 + 3_000, T0 + 3_500);
    expect(await repo.outbound.recoverInterrupted(T0 + 4_000, 'interrupted')).toBe(1);
  });

  it('suppressions: lower-cased, first reason kept, paged by address', async () => {
    const u = await user(repo);
    for (const a of ['C@x.test', 'a@x.test', 'b@x.test']) await repo.suppressions.add({ userId: u.id, address: a, reason: 'bounce', detail: a, sendId: null }, T0);
    await repo.suppressions.add({ userId: u.id, address: 'A@X.TEST', reason: 'complaint', detail: 'later', sendId: null }, T0 + 1);
    const page = await repo.suppressions.list(u.id, undefined, 2);
    expect(page).toEqual([
      { address: 'a@x.test', reason: 'bounce', detail: 'a@x.test', sendId: null, createdAt: T0 },
      { address: 'b@x.test', reason: 'bounce', detail: 'b@x.test', sendId: null, createdAt: T0 },
    ]);
    expect((await repo.suppressions.list(u.id, 'b@x.test', 2)).map((s) => s.address)).toEqual(['c@x.test']);
    expect(await repo.sends.isSuppressed(u.id, 'c@x.test')).toBe(true);
    expect(await repo.suppressions.remove(u.id, 'nobody@x.test')).toBe(false);
    expect(await repo.suppressions.get(u.id, 'C@X.test')).toEqual({ address: 'c@x.test', reason: 'bounce', detail: 'C@x.test', sendId: null, createdAt: T0 });
    expect(await repo.suppressions.get(u.id, 'nobody@x.test')).toBeNull();
    expect(await repo.suppressions.get((await user(repo)).id, 'c@x.test')).toBeNull(); // another account's list
  });

  it('oauth: apps, single-use codes, grants, refresh rotation once, revocation cascades', async () => {
    const u = await user(repo);
    const other = await user(repo);
    const app = { id: newId('app'), userId: u.id, name: 'App', clientId: `mhc_${newId('app')}`, secretHash: null, redirectUris: ['https://app.test/cb'], createdAt: T0 };
    await repo.oauthApps.insert(app);
    expect(await repo.oauthApps.getByClientId(app.clientId)).toEqual(app);
    expect(await repo.oauthApps.get(other.id, app.id)).toBeNull();
    expect((await repo.oauthApps.list(u.id, { limit: 5 })).map((a) => a.id)).toEqual([app.id]);
    const code = { codeHash: `c${newId('grt')}`, appId: app.id, userId: other.id, redirectUri: 'https://app.test/cb', scopes: ['send'], codeChallenge: 'x', createdAt: T0, expiresAt: T0 + 60_000 };
    await repo.oauthCodes.insert(code);
    const uses = await Promise.all([1, 2, 3].map(() => repo.oauthCodes.markUsed(code.codeHash, T0 + 1)));
    expect(uses.filter(Boolean)).toHaveLength(1);
    const grant = { id: newId('grt'), appId: app.id, userId: other.id, scopes: ['send'], createdAt: T0, lastUsedAt: null };
    const tok = (kind: 'access' | 'refresh', exp: number) => ({ tokenHash: `t${newId('grt')}`, grantId: grant.id, kind, scopes: ['send'], createdAt: T0, expiresAt: exp, rotatedAt: null });
    const [access, refresh] = [tok('access', T0 + 10), tok('refresh', T0 + 1e9)];
    await repo.startGrant(code.codeHash, grant, [access, refresh]);
    expect((await repo.oauthCodes.get(code.codeHash))).toMatchObject({ usedAt: T0 + 1, grantId: grant.id });
    expect(await repo.oauthTokens.find(access.tokenHash)).toEqual({ token: access, grant });
    const next = [tok('access', T0 + 100), tok('refresh', T0 + 2e9)];
    const rotations = await Promise.all([
      repo.rotateRefresh(refresh.tokenHash, grant.id, T0 + 50, next),
      repo.rotateRefresh(refresh.tokenHash, grant.id, T0 + 50, [tok('access', T0 + 100)]),
    ]);
    expect(rotations.filter(Boolean)).toHaveLength(1);
    expect(await repo.oauthTokens.find(access.tokenHash)).toBeNull(); // expired: pruned by the rotation
    expect((await repo.oauthTokens.find(refresh.tokenHash))?.token.rotatedAt).toBe(T0 + 50);
    expect((await repo.oauthTokens.listByUser(other.id))[0]).toMatchObject({ id: grant.id, lastUsedAt: T0 + 50 });
    expect(await repo.oauthTokens.deleteGrantsOf(other.id, app.id)).toBe(1);
    expect(await repo.oauthTokens.find(next[0]!.tokenHash)).toBeNull();
    expect(await repo.oauthApps.delete(u.id, app.id)).toBe(true);
  });

  it('leases: one holder, renewed by it, taken over once expired or released', async () => {
    const name = `sweeper-${newId('usr').slice(-6)}`;
    const held = await Promise.all([repo.leases.acquire(name, 'a', T0, 1000), repo.leases.acquire(name, 'b', T0, 1000)]);
    expect(held.filter(Boolean)).toHaveLength(1);
    const [me, other] = held[0] ? ['a', 'b'] : ['b', 'a'];
    expect(await repo.leases.acquire(name, me, T0 + 500, 1000)).toBe(true);
    expect(await repo.leases.acquire(name, other, T0 + 1400, 1000)).toBe(false);
    expect(await repo.leases.holder(name, T0 + 1400)).toBe(me);
    expect(await repo.leases.acquire(name, other, T0 + 1500, 1000)).toBe(true);
    expect(await repo.leases.release(name, me)).toBe(false);
    expect(await repo.leases.release(name, other)).toBe(true);
    expect(await repo.leases.holder(name, T0 + 1500)).toBeNull();
  });

  it('throttles: the limit per window, the wait until the oldest event leaves it, unrecord and reset', async () => {
    const rule = { name: `login-${newId('usr').slice(-6)}`, limit: 3, windowMs: 60_000 };
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await repo.throttles.take(rule, 'k', T0 + i * 1000));
    expect(waits).toEqual([0, 0, 0, 57, 56]); // the oldest (T0) leaves the window at T0 + 60 s
    expect(await repo.throttles.retryAfter(rule, 'other', T0)).toBe(0);
    await repo.throttles.unrecord(rule, 'k');
    expect(await repo.throttles.retryAfter(rule, 'k', T0 + 5000)).toBe(0);
    await repo.throttles.record(rule, 'k', T0 + 5000);
    expect(await repo.throttles.retryAfter(rule, 'k', T0 + 5000)).toBe(55);
    expect(await repo.throttles.retryAfter(rule, 'k', T0 + 60_001)).toBe(0);
    await repo.throttles.reset(rule, 'k');
    expect(await repo.throttles.take(rule, 'k', T0 + 6000)).toBe(0);
  });

  it('ops state and queue readings', async () => {
    expect(await repo.opsState.lastSweep()).toBeNull();
    const ok = await repo.opsState.recordSweep({ startedAt: T0, finishedAt: T0 + 5, ok: true, error: null, attachmentsPurged: 1, messagesDeleted: 2 });
    expect(ok.lastSuccessAt).toBe(T0 + 5);
    const failed = await repo.opsState.recordSweep({ startedAt: T0 + 10, finishedAt: T0 + 12, ok: false, error: 'x', attachmentsPurged: 0, messagesDeleted: 0 });
    expect(failed.lastSuccessAt).toBe(T0 + 5);
    expect(await repo.opsState.lastSweep()).toEqual(failed);

    const u = await user(repo);
    const d = await domain(repo, u.id);
    const before = (await repo.queueReadings(T0 + 1e12)).find((r) => r.kind === 'webhook')!;
    await repo.storeInbound([copy(u.id, d.id, { deliveries: 2 })], T0 + 1e12);
    const after = (await repo.queueReadings(T0 + 1e12)).find((r) => r.kind === 'webhook')!;
    expect(after.depth - before.depth).toBe(2);
    expect(after.due - before.due).toBe(2);

    // The outbound queue and its events (DESIGN §11: depth and oldest due age per kind).
    const kinds = async (at: number) => Object.fromEntries((await repo.queueReadings(at)).map((r) => [r.kind, r]));
    const at = T0 + 2e12; // past every due time other cases left behind
    const was = await kinds(at);
    expect(Object.keys(was).sort()).toEqual(['send', 'send_event', 'webhook']);
    const s = send(u.id, d.id, ['q1@far.test', 'q2@far.test'], at - 5_000);
    await repo.submitSend(s, null);
    let now = await kinds(at);
    expect(now.send!.depth - was.send!.depth).toBe(2);
    expect(now.send!.due - was.send!.due).toBe(2);
    const [c1, c2] = await repo.outbound.claim(s.recipients.map((r) => r.id), at, at + 60_000);
    now = await kinds(at);
    expect([now.send!.depth - was.send!.depth, now.send!.due - was.send!.due]).toEqual([2, 0]); // in flight: pending, not due
    const event = { id: newId('evt'), userId: u.id, sendId: s.id, type: 'email.sent', url: 'https://h.test/e', secret: 'whsec_e', body: '{}' };
    const sent = { finishedAt: at, mx: 'mx:25', code: 250, reply: 'ok', error: null, status: 'sent' as const, nextAttemptAt: null };
    const deferred = { ...sent, code: 451, status: 'deferred' as const, nextAttemptAt: at + 60_000 };
    await repo.finishOutbound(
      [
        { recipientId: c1!.recipient.id, attemptId: c1!.attemptId, outcome: sent, suppression: null, event },
        { recipientId: c2!.recipient.id, attemptId: c2!.attemptId, outcome: deferred, suppression: null, event: null },
      ],
      at,
    );
    now = await kinds(at);
    expect([now.send!.depth - was.send!.depth, now.send!.due - was.send!.due]).toEqual([1, 0]);
    expect([now.send_event!.depth - was.send_event!.depth, now.send_event!.due - was.send_event!.due]).toEqual([1, 1]);
    await repo.flush();
  });
});
