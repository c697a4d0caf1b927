import type { Db } from './open.js';

/** A token family: what one authorization code started, refreshed in turn. */
export interface OAuthGrant {
  id: string;
  appId: string;
  userId: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
}

export interface OAuthToken {
  tokenHash: string;
  grantId: string;
  kind: 'access' | 'refresh';
  scopes: string[];
  createdAt: number;
  expiresAt: number;
  rotatedAt: number | null;
}

interface GrantRow {
  id: string;
  app_id: string;
  user_id: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
}

interface TokenRow {
  token_hash: string;
  grant_id: string;
  kind: 'access' | 'refresh';
  scopes: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

export const toGrant = (r: GrantRow): OAuthGrant => ({
  id: r.id,
  appId: r.app_id,
  userId: r.user_id,
  scopes: JSON.parse(r.scopes) as string[],
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export const toToken = (r: TokenRow): OAuthToken => ({
  tokenHash: r.token_hash,
  grantId: r.grant_id,
  kind: r.kind,
  scopes: JSON.parse(r.scopes) as string[],
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  rotatedAt: r.rotated_at,
});

export function oauthTokensTable(db: Db) {
  const insertGrant = db.prepare(
    `INSERT INTO oauth_grants (id, app_id, user_id, scopes, created_at, last_used_at)
     VALUES (@id, @appId, @userId, @scopes, @createdAt, @lastUsedAt)`,
  );
  const insertToken = db.prepare(
    `INSERT INTO oauth_tokens (token_hash, grant_id, kind, scopes, created_at, expires_at, rotated_at)
     VALUES (@tokenHash, @grantId, @kind, @scopes, @createdAt, @expiresAt, @rotatedAt)`,
  );
  const tokenByHash = db.prepare<[string], TokenRow>('SELECT * FROM oauth_tokens WHERE token_hash = ?');
  const grantById = db.prepare<[string], GrantRow>('SELECT * FROM oauth_grants WHERE id = ?');
  const rotate = db.prepare('UPDATE oauth_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL');
  const pruneExpired = db.prepare('DELETE FROM oauth_tokens WHERE grant_id = ? AND expires_at <= ?');
  const removeToken = db.prepare('DELETE FROM oauth_tokens WHERE token_hash = ?');
  const removeGrant = db.prepare('DELETE FROM oauth_grants WHERE id = ?');
  const removeGrantsOf = db.prepare('DELETE FROM oauth_grants WHERE user_id = ? AND app_id = ?');
  const touch = db.prepare('UPDATE oauth_grants SET last_used_at = ? WHERE id = ?');
  const byUser = db.prepare<[string], GrantRow>('SELECT * FROM oauth_grants WHERE user_id = ? ORDER BY id DESC');
  return {
    insertGrant(g: OAuthGrant): void {
      insertGrant.run({ ...g, scopes: JSON.stringify(g.scopes) });
    },
    insertToken(t: OAuthToken): void {
      insertToken.run({ ...t, scopes: JSON.stringify(t.scopes) });
    },
    /** The token and its family; null when unknown or its family was revoked (rows deleted). */
    find(tokenHash: string): { token: OAuthToken; grant: OAuthGrant } | null {
      const t = tokenByHash.get(tokenHash);
      const g = t ? grantById.get(t.grant_id) : undefined;
      return t && g ? { token: toToken(t), grant: toGrant(g) } : null;
    },
    /** Marks a refresh token exchanged; false when it already was (so a second use is a replay). */
    markRotated(tokenHash: string, at: number): boolean {
      return rotate.run(at, tokenHash).changes > 0;
    },
    /** Drops a family's tokens that expired (old access tokens, refresh tokens rotated long ago). */
    pruneExpired(grantId: string, now: number): void {
      pruneExpired.run(grantId, now);
    },
    deleteToken(tokenHash: string): void {
      removeToken.run(tokenHash);
    },
    /** Revokes a family: its tokens go with it (ON DELETE CASCADE). */
    deleteGrant(id: string): void {
      removeGrant.run(id);
    },
    /** Revokes every family this user approved for one app; the number revoked. */
    deleteGrantsOf(userId: string, appId: string): number {
      return removeGrantsOf.run(userId, appId).changes;
    },
    touch(grantId: string, at: number): void {
      touch.run(at, grantId);
    },
    /** The user's live families, newest first. */
    listByUser(userId: string): OAuthGrant[] {
      return byUser.all(userId).map(toGrant);
    },
  };
}
