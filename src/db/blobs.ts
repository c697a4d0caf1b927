import type { Db } from './open.js';

/** Small blobs kept in the database (schema.sql `blobs`); see src/store/inline-blob-store.ts. */
export function blobsTable(db: Db) {
  const insert = db.prepare('INSERT INTO blobs (key, message_id, data) VALUES (?, ?, ?)');
  const get = db.prepare<[string], { data: Buffer }>('SELECT data FROM blobs WHERE key = ?');
  const has = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM blobs WHERE key = ?');
  const remove = db.prepare('DELETE FROM blobs WHERE key = ?');
  const removeMany = db.transaction((keys: readonly string[]) => keys.reduce((n, k) => n + remove.run(k).changes, 0));

  return {
    /** Call inside the transaction that inserts the message row. */
    insert(key: string, messageId: string, data: Buffer): void {
      insert.run(key, messageId, data);
    },
    get(key: string): Buffer | null {
      return get.get(key)?.data ?? null;
    },
    has(key: string): boolean {
      return has.get(key) !== undefined;
    },
    /** Deletes the rows of `keys` in one transaction; returns how many there were. */
    delete(keys: readonly string[]): number {
      return keys.length ? removeMany(keys) : 0;
    },
    /** The keys of `keys` that are not kept here, i.e. live in the BlobStore. */
    external(keys: readonly string[]): string[] {
      return keys.filter((k) => has.get(k) === undefined);
    },
  };
}
