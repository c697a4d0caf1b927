import type { Db } from './open.js';

export interface User {
  id: string;
  email: string;
  passwordHash: string | null;
  googleSub: string | null;
  createdAt: number;
}

interface Row {
  id: string;
  email: string;
  password_hash: string | null;
  google_sub: string | null;
  created_at: number;
}

export const toUser = (r: Row): User => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  googleSub: r.google_sub,
  createdAt: r.created_at,
});

export function usersTable(db: Db) {
  const insert = db.prepare(
    'INSERT INTO users (id, email, password_hash, google_sub, created_at) VALUES (@id, @email, @passwordHash, @googleSub, @createdAt)',
  );
  const byId = db.prepare<[string], Row>('SELECT * FROM users WHERE id = ?');
  const byEmail = db.prepare<[string], Row>('SELECT * FROM users WHERE email = ?');
  const byGoogleSub = db.prepare<[string], Row>('SELECT * FROM users WHERE google_sub = ?');
  const setGoogleSub = db.prepare('UPDATE users SET google_sub = ? WHERE id = ?');
  return {
    insert(user: User): User {
      insert.run(user);
      return user;
    },
    get(id: string): User | null {
      const r = byId.get(id);
      return r ? toUser(r) : null;
    },
    getByEmail(email: string): User | null {
      const r = byEmail.get(email);
      return r ? toUser(r) : null;
    },
    getByGoogleSub(sub: string): User | null {
      const r = byGoogleSub.get(sub);
      return r ? toUser(r) : null;
    },
    setGoogleSub(id: string, sub: string): void {
      setGoogleSub.run(sub, id);
    },
  };
}
