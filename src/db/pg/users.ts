import { toUser, type User } from '../users.js';
import { row, type PgDb } from './db.js';

type Row = Parameters<typeof toUser>[0];

export function usersTable(db: PgDb) {
  const one = async (sql: string, v: string) => {
    const r = await row<Row>(db, sql, [v]);
    return r ? toUser(r) : null;
  };
  return {
    async insert(user: User): Promise<User> {
      await db.query('INSERT INTO users (id, email, password_hash, google_sub, created_at) VALUES ($1, $2, $3, $4, $5)', [
        user.id, user.email, user.passwordHash, user.googleSub, user.createdAt,
      ]);
      return user;
    },
    get: (id: string) => one('SELECT * FROM users WHERE id = $1', id),
    getByEmail: (email: string) => one('SELECT * FROM users WHERE email = $1', email),
    getByGoogleSub: (sub: string) => one('SELECT * FROM users WHERE google_sub = $1', sub),
    async setGoogleSub(id: string, sub: string): Promise<void> {
      await db.query('UPDATE users SET google_sub = $1 WHERE id = $2', [sub, id]);
    },
  };
}
