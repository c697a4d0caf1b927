import { toGrant, toToken, type OAuthGrant, type OAuthToken } from '../oauth-tokens.js';
import { changes, row, rows, type PgDb } from './db.js';

type GrantRow = Parameters<typeof toGrant>[0];
type TokenRow = Parameters<typeof toToken>[0];

export function oauthTokensTable(db: PgDb) {
  return {
    async insertGrant(g: OAuthGrant): Promise<void> {
      await db.query('INSERT INTO oauth_grants (id, app_id, user_id, scopes, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        g.id, g.appId, g.userId, JSON.stringify(g.scopes), g.createdAt, g.lastUsedAt,
      ]);
    },
    async insertToken(t: OAuthToken): Promise<void> {
      await db.query(
        'INSERT INTO oauth_tokens (token_hash, grant_id, kind, scopes, created_at, expires_at, rotated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [t.tokenHash, t.grantId, t.kind, JSON.stringify(t.scopes), t.createdAt, t.expiresAt, t.rotatedAt],
      );
    },
    async find(tokenHash: string): Promise<{ token: OAuthToken; grant: OAuthGrant } | null> {
      const t = await row<TokenRow>(db, 'SELECT * FROM oauth_tokens WHERE token_hash = $1', [tokenHash]);
      const g = t ? await row<GrantRow>(db, 'SELECT * FROM oauth_grants WHERE id = $1', [t.grant_id]) : null;
      return t && g ? { token: toToken(t), grant: toGrant(g) } : null;
    },
    async markRotated(tokenHash: string, at: number): Promise<boolean> {
      return (await changes(db, 'UPDATE oauth_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL', [at, tokenHash])) > 0;
    },
    async pruneExpired(grantId: string, now: number): Promise<void> {
      await db.query('DELETE FROM oauth_tokens WHERE grant_id = $1 AND expires_at <= $2', [grantId, now]);
    },
    async deleteToken(tokenHash: string): Promise<void> {
      await db.query('DELETE FROM oauth_tokens WHERE token_hash = $1', [tokenHash]);
    },
    async deleteGrant(id: string): Promise<void> {
      await db.query('DELETE FROM oauth_grants WHERE id = $1', [id]);
    },
    deleteGrantsOf(userId: string, appId: string): Promise<number> {
      return changes(db, 'DELETE FROM oauth_grants WHERE user_id = $1 AND app_id = $2', [userId, appId]);
    },
    async touch(grantId: string, at: number): Promise<void> {
      await db.query('UPDATE oauth_grants SET last_used_at = $1 WHERE id = $2', [at, grantId]);
    },
    async listByUser(userId: string): Promise<OAuthGrant[]> {
      return (await rows<GrantRow>(db, 'SELECT * FROM oauth_grants WHERE user_id = $1 ORDER BY id DESC', [userId])).map(toGrant);
    },
  };
}
