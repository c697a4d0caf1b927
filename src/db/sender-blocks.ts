import type { Db } from './open.js';

/** A sender an account refuses: refused with 550, nothing stored. */
export interface SenderBlock {
  id: string;
  userId: string;
  /** Null: every domain of the account. */
  domainId: string | null;
  /** Normalised (src/route/sender-block.ts): an address, `*@domain`, or a domain. */
  pattern: string;
  createdAt: number;
}

interface Row {
  id: string;
  user_id: string;
  domain_id: string | null;
  pattern: string;
  created_at: number;
}

export const toBlock = (r: Row): SenderBlock => ({ id: r.id, userId: r.user_id, domainId: r.domain_id, pattern: r.pattern, createdAt: r.created_at });

export function senderBlocksTable(db: Db) {
  const insert = db.prepare(
    'INSERT INTO sender_blocks (id, user_id, domain_id, pattern, created_at) VALUES (@id, @userId, @domainId, @pattern, @createdAt)',
  );
  const byId = db.prepare<[string, string], Row>('SELECT * FROM sender_blocks WHERE id = ? AND user_id = ?');
  const byUser = db.prepare<{ userId: string; domainId: string | null; before: string; limit: number }, Row>(
    `SELECT * FROM sender_blocks WHERE user_id = @userId AND (@domainId IS NULL OR domain_id = @domainId) AND id < @before
     ORDER BY id DESC LIMIT @limit`,
  );
  const same = db.prepare<[string, string | null, string], Row>(
    'SELECT * FROM sender_blocks WHERE user_id = ? AND domain_id IS ? AND pattern = ?',
  );
  const applying = db.prepare<[string, string], { pattern: string }>(
    'SELECT pattern FROM sender_blocks WHERE user_id = ? AND (domain_id IS NULL OR domain_id = ?)',
  );
  const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM sender_blocks WHERE user_id = ?');
  const remove = db.prepare('DELETE FROM sender_blocks WHERE id = ? AND user_id = ?');
  return {
    insert(b: SenderBlock): void {
      insert.run(b);
    },
    get(userId: string, id: string): SenderBlock | null {
      const r = byId.get(id, userId);
      return r ? toBlock(r) : null;
    },
    find(userId: string, domainId: string | null, pattern: string): SenderBlock | null {
      const r = same.get(userId, domainId, pattern);
      return r ? toBlock(r) : null;
    },
    list(userId: string, opts: { domainId?: string; before?: string; limit: number }): SenderBlock[] {
      return byUser
        .all({ userId, domainId: opts.domainId ?? null, before: opts.before ?? '\uffff', limit: opts.limit })
        .map(toBlock);
    },
    /** The patterns that apply to mail for `domainId` of account `userId`: its own and the account-wide ones. */
    patternsFor(userId: string, domainId: string): string[] {
      return applying.all(userId, domainId).map((r) => r.pattern);
    },
    count(userId: string): number {
      return count.get(userId)!.n;
    },
    delete(userId: string, id: string): boolean {
      return remove.run(id, userId).changes > 0;
    },
  };
}
