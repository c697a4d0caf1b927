import type { Db } from './open.js';

export interface Suppression {
  address: string;
  reason: string;
  detail: string;
  sendId: string | null;
  createdAt: number;
}

interface Row {
  address: string;
  reason: string;
  detail: string;
  send_id: string | null;
  created_at: number;
}

export const toSuppression = (r: Row): Suppression => ({ address: r.address, reason: r.reason, detail: r.detail, sendId: r.send_id, createdAt: r.created_at });

export function suppressionsTable(db: Db) {
  const add = db.prepare(
    `INSERT INTO suppressions (user_id, address, reason, detail, send_id, created_at) VALUES (@userId, @address, @reason, @detail, @sendId, @now)
     ON CONFLICT (user_id, address) DO NOTHING`,
  );
  const list = db.prepare<{ userId: string; before: string; limit: number }, Row>(
    'SELECT * FROM suppressions WHERE user_id = @userId AND address > @before ORDER BY address LIMIT @limit',
  );
  const remove = db.prepare('DELETE FROM suppressions WHERE user_id = ? AND address = ?');
  const get = db.prepare<[string, string], Row>('SELECT * FROM suppressions WHERE user_id = ? AND address = ?');
  return {
    add(s: { userId: string; address: string; reason: string; detail: string; sendId: string | null }, now: number): void {
      add.run({ ...s, address: s.address.toLowerCase(), now });
    },
    /** In address order; `after` is the last address of the previous page. */
    list(userId: string, after: string | undefined, limit: number): Suppression[] {
      return list.all({ userId, before: after ?? '', limit }).map(toSuppression);
    },
    /** One address (any case), or null when it is not suppressed. */
    get(userId: string, address: string): Suppression | null {
      const r = get.get(userId, address.toLowerCase());
      return r ? toSuppression(r) : null;
    },
    remove(userId: string, address: string): boolean {
      return remove.run(userId, address.toLowerCase()).changes > 0;
    },
  };
}
