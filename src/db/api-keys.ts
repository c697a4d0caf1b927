import type { Db } from './open.js';

export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: string[];
  domainId: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string;
  domain_id: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export const toKey = (r: Row): ApiKey => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  prefix: r.prefix,
  keyHash: r.key_hash,
  scopes: JSON.parse(r.scopes) as string[],
  domainId: r.domain_id,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export function apiKeysTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, domain_id, created_at, last_used_at, revoked_at)
     VALUES (@id, @userId, @name, @prefix, @keyHash, @scopes, @domainId, @createdAt, @lastUsedAt, @revokedAt)`,
  );
  const byHash = db.prepare<[string], Row>('SELECT * FROM api_keys WHERE key_hash = ?');
  const byId = db.prepare<[string, string], Row>('SELECT * FROM api_keys WHERE id = ? AND user_id = ? AND revoked_at IS NULL');
  const byUser = db.prepare<{ userId: string; before: string; limit: number }, Row>(
    `SELECT * FROM api_keys WHERE user_id = @userId AND revoked_at IS NULL AND id < @before
     ORDER BY id DESC LIMIT @limit`,
  );
  const touch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?');
  const revoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL');
  return {
    insert(k: ApiKey): void {
      insert.run({ ...k, scopes: JSON.stringify(k.scopes) });
    },
    /** Revoked keys too: the caller refuses them. */
    getByKeyHash(hash: string): ApiKey | null {
      const r = byHash.get(hash);
      return r ? toKey(r) : null;
    },
    /** A live key of this user; revoked or another user's is null. */
    get(userId: string, id: string): ApiKey | null {
      const r = byId.get(id, userId);
      return r ? toKey(r) : null;
    },
    list(userId: string, opts: { before?: string; limit: number }): ApiKey[] {
      return byUser.all({ userId, before: opts.before ?? '\uffff', limit: opts.limit }).map(toKey);
    },
    touch(id: string, at: number): void {
      touch.run(at, id);
    },
    /** Kept as a row (revoked_at) for the record; it stops working at once. */
    revoke(userId: string, id: string, at: number): boolean {
      return revoke.run(at, id, userId).changes > 0;
    },
  };
}
