import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { newFamily, newTokens } from '../../src/oauth/tokens.js';
import { rawKey } from '../../src/store/blob-store.js';
import { seedDelivery, seedMessage } from '../deliver/seed.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';

// The use cases that replaced the callers' own transactions (src/db/repository.ts): each is one
// transaction, whole or not at all, whatever the engine.
describe('repository use cases', () => {
  let deps: TestDeps;
  beforeEach(() => {
    deps = testDeps();
  });
  afterEach(() => deps.cleanup());

  it('removeDomain of a domain that is not the user’s changes nothing and answers null', async () => {
    const alice = await seedUserAndDomain(deps, 'alice.test');
    const bob = await seedUserAndDomain(deps, 'bob.test');
    const owner = { userId: alice.user.id, domainId: alice.domain.id };
    const { message } = await seedMessage(deps, owner);
    const d = await seedDelivery(deps, { ...owner, messageId: message.id, url: 'https://hooks.example.net/a' });

    // endForDomain runs before the delete is refused: the refusal must roll it back.
    expect(await deps.repos.removeDomain(bob.user.id, alice.domain.id, null, deps.now())).toBeNull();
    expect((await deps.repos.deliveries.getById(d.id))!.status).toBe('pending');
    expect(await deps.repos.domains.get(alice.user.id, alice.domain.id)).not.toBeNull();

    const keys = await deps.repos.removeDomain(alice.user.id, alice.domain.id, null, deps.now());
    expect(keys).toEqual([message.rawKey]);
    expect(await deps.repos.messages.getById(message.id)).toBeNull();
  });

  it('storeInbound writes every copy or none: a failing copy rolls back the ones before it', async () => {
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    const now = deps.now();
    const copy = (id: string) => ({
      message: {
        id,
        userId: user.id,
        domainId: domain.id,
        envelope: { mailFrom: 'a@sender.test', rcptTo: ['x@example.com'], helo: 'h', remoteIp: '127.0.0.1', tls: false },
        parsed: { from: { address: 'a@sender.test', name: '' }, subject: 's', messageId: null } as never,
        auth: {},
        size: 1,
        rawKey: rawKey(id),
        parseError: null,
        receivedAt: now,
        purgedAt: null,
      },
      attachments: [],
      inlineBlobs: [{ key: rawKey(id), data: Buffer.from('raw') }],
      recipients: [{ address: 'x@example.com', domainId: domain.id }],
      deliveries: [{ id: newId('dlv', now), userId: user.id, messageId: id, routeId: null, domainId: domain.id, url: 'https://hooks.example.net/a', secret: 's' }],
      forwards: [],
    });
    const first = newId('msg', now);
    // The second copy reuses the first one's id: its insert fails inside the transaction.
    await expect(deps.repos.storeInbound([copy(first), copy(first)], now)).rejects.toThrow();
    expect(await deps.repos.messages.getById(first)).toBeNull();
    expect(await deps.repos.blobs.has(rawKey(first))).toBe(false);
    expect(await deps.repos.deliveries.forMessage(first)).toEqual([]);
  });

  it('rotateRefresh: of two concurrent exchanges of one refresh token, exactly one rotates it', async () => {
    const { user } = await seedUserAndDomain(deps, 'example.com');
    const now = deps.now();
    const app = { id: newId('app', now), userId: user.id, name: 'app', clientId: 'cid', secretHash: null, redirectUris: ['https://app.test/cb'], createdAt: now };
    await deps.repos.oauthApps.insert(app);
    const codeHash = 'c'.repeat(64);
    await deps.repos.oauthCodes.insert({ codeHash, appId: app.id, userId: user.id, redirectUri: app.redirectUris[0]!, scopes: ['messages:read'], codeChallenge: 'x', createdAt: now, expiresAt: now + 60_000 });
    const grant = newFamily({ appId: app.id, userId: user.id, scopes: ['messages:read'] }, now);
    const first = newTokens(grant, grant.scopes, now);
    await deps.repos.startGrant(codeHash, grant, first.rows);
    const refresh = first.rows.find((t) => t.kind === 'refresh')!.tokenHash;

    const results = await Promise.all([1, 2].map(() => deps.repos.rotateRefresh(refresh, grant.id, now + 1, newTokens(grant, grant.scopes, now + 1).rows)));
    expect(results.sort()).toEqual([false, true]);
    expect((await deps.repos.oauthTokens.find(refresh))!.token.rotatedAt).toBe(now + 1);
  });
});
