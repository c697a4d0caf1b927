import { changes, row, rows, type PgDb } from './db.js';

/** Small blobs kept in the database (the `blobs` table); see src/store/inline-blob-store.ts. */
export function blobsTable(db: PgDb) {
  return {
    async insert(key: string, messageId: string, data: Buffer): Promise<void> {
      await db.query('INSERT INTO blobs (key, message_id, data) VALUES ($1, $2, $3)', [key, messageId, data]);
    },
    async get(key: string): Promise<Buffer | null> {
      return (await row<{ data: Buffer }>(db, 'SELECT data FROM blobs WHERE key = $1', [key]))?.data ?? null;
    },
    async has(key: string): Promise<boolean> {
      return (await row(db, 'SELECT 1 FROM blobs WHERE key = $1', [key])) !== null;
    },
    async delete(keys: readonly string[]): Promise<number> {
      return keys.length ? changes(db, 'DELETE FROM blobs WHERE key = ANY($1::text[])', [keys]) : 0;
    },
    async external(keys: readonly string[]): Promise<string[]> {
      if (!keys.length) return [];
      const here = new Set((await rows<{ key: string }>(db, 'SELECT key FROM blobs WHERE key = ANY($1::text[])', [keys])).map((r) => r.key));
      return keys.filter((k) => !here.has(k));
    },
  };
}
