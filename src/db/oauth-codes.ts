import type { Db } from './open.js';

export interface OAuthCode {
  codeHash: string;
  appId: string;
  userId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  grantId: string | null;
}

interface Row {
  code_hash: string;
  app_id: string;
  user_id: string;
  redirect_uri: string;
  scopes: string;
  code_challenge: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  grant_id: string | null;
}

export const toCode = (r: Row): OAuthCode => ({
  codeHash: r.code_hash,
  appId: r.app_id,
  userId: r.user_id,
  redirectUri: r.redirect_uri,
  scopes: JSON.parse(r.scopes) as string[],
  codeChallenge: r.code_challenge,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  grantId: r.grant_id,
});

/** Long after a code's 60 s: a replay within this still finds the row and revokes what it issued. */
const KEEP_MS = 24 * 60 * 60 * 1000;

export function oauthCodesTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, created_at, expires_at, used_at, grant_id)
     VALUES (@codeHash, @appId, @userId, @redirectUri, @scopes, @codeChallenge, @createdAt, @expiresAt, NULL, NULL)`,
  );
  const prune = db.prepare('DELETE FROM oauth_codes WHERE created_at < ?');
  const byHash = db.prepare<[string], Row>('SELECT * FROM oauth_codes WHERE code_hash = ?');
  const use = db.prepare('UPDATE oauth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL');
  const setGrant = db.prepare('UPDATE oauth_codes SET grant_id = ? WHERE code_hash = ?');
  return {
    insert(c: Omit<OAuthCode, 'usedAt' | 'grantId'>): void {
      prune.run(c.createdAt - KEEP_MS);
      insert.run({ ...c, scopes: JSON.stringify(c.scopes) });
    },
    get(codeHash: string): OAuthCode | null {
      const r = byHash.get(codeHash);
      return r ? toCode(r) : null;
    },
    /** Marks the code used; false when it already was (single use, even for two requests at once). */
    markUsed(codeHash: string, at: number): boolean {
      return use.run(at, codeHash).changes > 0;
    },
    setGrant(codeHash: string, grantId: string): void {
      setGrant.run(grantId, codeHash);
    },
  };
}
