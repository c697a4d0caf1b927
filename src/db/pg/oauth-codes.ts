import { toCode, type OAuthCode } from '../oauth-codes.js';
import { changes, row, type PgDb } from './db.js';

/** As src/db/oauth-codes.ts: a used code is kept a day, so a replay still finds what it issued. */
const KEEP_MS = 24 * 60 * 60 * 1000;

export function oauthCodesTable(db: PgDb) {
  return {
    async insert(c: Omit<OAuthCode, 'usedAt' | 'grantId'>): Promise<void> {
      await db.query('DELETE FROM oauth_codes WHERE created_at < $1', [c.createdAt - KEEP_MS]);
      await db.query(
        `INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, created_at, expires_at, used_at, grant_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
        [c.codeHash, c.appId, c.userId, c.redirectUri, JSON.stringify(c.scopes), c.codeChallenge, c.createdAt, c.expiresAt],
      );
    },
    async get(codeHash: string): Promise<OAuthCode | null> {
      const r = await row<Parameters<typeof toCode>[0]>(db, 'SELECT * FROM oauth_codes WHERE code_hash = $1', [codeHash]);
      return r ? toCode(r) : null;
    },
    /** One UPDATE with its condition: of two requests at once, exactly one changes the row. */
    async markUsed(codeHash: string, at: number): Promise<boolean> {
      return (await changes(db, 'UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL', [at, codeHash])) > 0;
    },
    async setGrant(codeHash: string, grantId: string): Promise<void> {
      await db.query('UPDATE oauth_codes SET grant_id = $1 WHERE code_hash = $2', [grantId, codeHash]);
    },
  };
}
