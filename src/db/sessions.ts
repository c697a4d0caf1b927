import type { Db } from './open.js';

export interface Session {
  id: string;
  userId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
}

interface Row {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
}

export const toSession = (r: Row): Session => ({
  id: r.id,
  userId: r.user_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
});

export function sessionsTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, last_used_at)
     VALUES (@id, @userId, @tokenHash, @createdAt, @expiresAt, @lastUsedAt)`,
  );
  const byHash = db.prepare<[string], Row>('SELECT * FROM sessions WHERE token_hash = ?');
  const touch = db.prepare('UPDATE sessions SET last_used_at = ? WHERE id = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE id = ?');
  const removeExpired = db.prepare('DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?');
  return {
    insert(s: Session): void {
      insert.run(s);
    },
    getByTokenHash(hash: string): Session | null {
      const r = byHash.get(hash);
      return r ? toSession(r) : null;
    },
    touch(id: string, at: number): void {
      touch.run(at, id);
    },
    delete(id: string): void {
      remove.run(id);
    },
    deleteExpired(userId: string, now: number): void {
      removeExpired.run(userId, now);
    },
  };
}
