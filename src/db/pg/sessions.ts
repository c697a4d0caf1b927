import { toSession, type Session } from '../sessions.js';
import { row, type PgDb } from './db.js';

export function sessionsTable(db: PgDb) {
  return {
    async insert(s: Session): Promise<void> {
      await db.query(
        `INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [s.id, s.userId, s.tokenHash, s.createdAt, s.expiresAt, s.lastUsedAt],
      );
    },
    async getByTokenHash(hash: string): Promise<Session | null> {
      const r = await row<Parameters<typeof toSession>[0]>(db, 'SELECT * FROM sessions WHERE token_hash = $1', [hash]);
      return r ? toSession(r) : null;
    },
    async touch(id: string, at: number): Promise<void> {
      await db.query('UPDATE sessions SET last_used_at = $1 WHERE id = $2', [at, id]);
    },
    async delete(id: string): Promise<void> {
      await db.query('DELETE FROM sessions WHERE id = $1', [id]);
    },
    async deleteExpired(userId: string, now: number): Promise<void> {
      await db.query('DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2', [userId, now]);
    },
  };
}
