import type { PayloadMode } from '../../deliver/payload.js';
import type { DkimKey } from '../../send/dkim-key.js';
import { toDomain, type Domain, type NewDomain } from '../domains.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toDomain>[0];

export function domainsTable(db: PgDb) {
  const one = async (sql: string, params: unknown[]) => {
    const r = await row<Row>(db, sql, params);
    return r ? toDomain(r) : null;
  };
  return {
    async insert(d: NewDomain): Promise<void> {
      await db.query(
        `INSERT INTO domains (id, user_id, name, status, verification_token, verified_at, webhook_url, webhook_secret, created_at,
           dkim_selector, dkim_public_key, dkim_private_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [d.id, d.userId, d.name, d.status, d.verificationToken, d.verifiedAt, d.webhookUrl, d.webhookSecret, d.createdAt,
          d.dkim?.selector ?? null, d.dkim?.publicKey ?? null, d.dkim?.privateKeySealed ?? null],
      );
    },
    async setDkimKey(id: string, key: DkimKey): Promise<void> {
      await db.query(
        `UPDATE domains SET dkim_selector = $2, dkim_public_key = $3, dkim_private_key = $4 WHERE id = $1 AND dkim_private_key IS NULL`,
        [id, key.selector, key.publicKey, key.privateKeySealed],
      );
    },
    async setDkimVerified(id: string, at: number): Promise<void> {
      await db.query('UPDATE domains SET dkim_verified_at = $2 WHERE id = $1 AND dkim_verified_at IS NULL', [id, at]);
    },
    get: (userId: string, id: string) => one('SELECT * FROM domains WHERE id = $1 AND user_id = $2', [id, userId]),
    getById: (id: string) => one('SELECT * FROM domains WHERE id = $1', [id]),
    async list(userId: string, opts: { before?: string; limit: number }): Promise<Domain[]> {
      const rs = await rows<Row>(db, 'SELECT * FROM domains WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [
        userId, opts.before ?? '\uffff', opts.limit,
      ]);
      return rs.map(toDomain);
    },
    getByName: (userId: string, name: string) => one('SELECT * FROM domains WHERE user_id = $1 AND name = $2', [userId, name]),
    findVerified: (name: string) => one("SELECT * FROM domains WHERE name = $1 AND status = 'verified'", [name]),
    async setStatus(id: string, status: Domain['status'], verifiedAt: number | null, lastCheck: unknown): Promise<void> {
      await db.query('UPDATE domains SET status = $2, verified_at = $3, last_check = $4 WHERE id = $1', [
        id, status, verifiedAt, JSON.stringify(lastCheck ?? null),
      ]);
    },
    async setWebhook(id: string, url: string | null, secret: string | null, payload: PayloadMode = 'json'): Promise<void> {
      await db.query('UPDATE domains SET webhook_url = $2, webhook_secret = $3, webhook_payload = $4 WHERE id = $1', [id, url, secret, payload]);
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await changes(db, 'DELETE FROM domains WHERE id = $1 AND user_id = $2', [id, userId])) > 0;
    },
  };
}
