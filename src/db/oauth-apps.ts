import type { Db } from './open.js';

export interface OAuthApp {
  id: string;
  userId: string;
  name: string;
  clientId: string;
  /** SHA-256 of the client secret; null for a public client (RFC 6749 §2.1). */
  secretHash: string | null;
  redirectUris: string[];
  createdAt: number;
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  client_id: string;
  secret_hash: string | null;
  redirect_uris: string;
  created_at: number;
}

export const toApp = (r: Row): OAuthApp => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  clientId: r.client_id,
  secretHash: r.secret_hash,
  redirectUris: JSON.parse(r.redirect_uris) as string[],
  createdAt: r.created_at,
});

export function oauthAppsTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO oauth_apps (id, user_id, name, client_id, secret_hash, redirect_uris, created_at)
     VALUES (@id, @userId, @name, @clientId, @secretHash, @redirectUris, @createdAt)`,
  );
  const byClientId = db.prepare<[string], Row>('SELECT * FROM oauth_apps WHERE client_id = ?');
  const byAppId = db.prepare<[string], Row>('SELECT * FROM oauth_apps WHERE id = ?');
  const byId = db.prepare<[string, string], Row>('SELECT * FROM oauth_apps WHERE id = ? AND user_id = ?');
  const byUser = db.prepare<{ userId: string; before: string; limit: number }, Row>(
    'SELECT * FROM oauth_apps WHERE user_id = @userId AND id < @before ORDER BY id DESC LIMIT @limit',
  );
  const remove = db.prepare('DELETE FROM oauth_apps WHERE id = ? AND user_id = ?');
  return {
    insert(a: OAuthApp): void {
      insert.run({ ...a, redirectUris: JSON.stringify(a.redirectUris) });
    },
    /** Any user's app: apps are registered by one account and approved by others. */
    getByClientId(clientId: string): OAuthApp | null {
      const r = byClientId.get(clientId);
      return r ? toApp(r) : null;
    },
    /** Any user's app, by id (a connected app's name). */
    getById(id: string): OAuthApp | null {
      const r = byAppId.get(id);
      return r ? toApp(r) : null;
    },
    /** An app this user registered; another user's is null. */
    get(userId: string, id: string): OAuthApp | null {
      const r = byId.get(id, userId);
      return r ? toApp(r) : null;
    },
    list(userId: string, opts: { before?: string; limit: number }): OAuthApp[] {
      return byUser.all({ userId, before: opts.before ?? '\uffff', limit: opts.limit }).map(toApp);
    },
    /** Its codes, grants and tokens go with it (ON DELETE CASCADE): every token stops at once. */
    delete(userId: string, id: string): boolean {
      return remove.run(id, userId).changes > 0;
    },
  };
}
