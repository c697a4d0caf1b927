import { toApp, type OAuthApp } from '../oauth-apps.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toApp>[0];

export function oauthAppsTable(db: PgDb) {
  const one = async (sql: string, params: unknown[]) => {
    const r = await row<Row>(db, sql, params);
    return r ? toApp(r) : null;
  };
  return {
    async insert(a: OAuthApp): Promise<void> {
      await db.query(
        `INSERT INTO oauth_apps (id, user_id, name, client_id, secret_hash, redirect_uris, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [a.id, a.userId, a.name, a.clientId, a.secretHash, JSON.stringify(a.redirectUris), a.createdAt],
      );
    },
    getByClientId: (clientId: string) => one('SELECT * FROM oauth_apps WHERE client_id = $1', [clientId]),
    getById: (id: string) => one('SELECT * FROM oauth_apps WHERE id = $1', [id]),
    get: (userId: string, id: string) => one('SELECT * FROM oauth_apps WHERE id = $1 AND user_id = $2', [id, userId]),
    async list(userId: string, opts: { before?: string; limit: number }): Promise<OAuthApp[]> {
      const rs = await rows<Row>(db, 'SELECT * FROM oauth_apps WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [
        userId, opts.before ?? '\uffff', opts.limit,
      ]);
      return rs.map(toApp);
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await changes(db, 'DELETE FROM oauth_apps WHERE id = $1 AND user_id = $2', [id, userId])) > 0;
    },
  };
}
