import { toKey, type ApiKey } from '../api-keys.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toKey>[0];

export function apiKeysTable(db: PgDb) {
  return {
    async insert(k: ApiKey): Promise<void> {
      await db.query(
        `INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, domain_id, created_at, last_used_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [k.id, k.userId, k.name, k.prefix, k.keyHash, JSON.stringify(k.scopes), k.domainId, k.createdAt, k.lastUsedAt, k.revokedAt],
      );
    },
    async getByKeyHash(hash: string): Promise<ApiKey | null> {
      const r = await row<Row>(db, 'SELECT * FROM api_keys WHERE key_hash = $1', [hash]);
      return r ? toKey(r) : null;
    },
    async get(userId: string, id: string): Promise<ApiKey | null> {
      const r = await row<Row>(db, 'SELECT * FROM api_keys WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL', [id, userId]);
      return r ? toKey(r) : null;
    },
    async list(userId: string, opts: { before?: string; limit: number }): Promise<ApiKey[]> {
      const rs = await rows<Row>(
        db,
        'SELECT * FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND id < $2 ORDER BY id DESC LIMIT $3',
        [userId, opts.before ?? '\uffff', opts.limit],
      );
      return rs.map(toKey);
    },
    async touch(id: string, at: number): Promise<void> {
      await db.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2', [at, id]);
    },
    async revoke(userId: string, id: string, at: number): Promise<boolean> {
      return (await changes(db, 'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL', [at, id, userId])) > 0;
    },
  };
}
