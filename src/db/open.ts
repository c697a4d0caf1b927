import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrate } from './migrate.js';

export type Db = Database.Database;

const SCHEMA = fileURLToPath(new URL('../../schema.sql', import.meta.url));

/**
 * Opens (or creates) the database and applies schema.sql. synchronous=FULL makes every
 * commit durable before it returns: the 250 reply to DATA is sent only after one. (The mail
 * path commits through group-commit.ts, which keeps that guarantee with its own WAL fsync.)
 */
export function openDb(file: string, cacheMb = 32): Db {
  const db = new Database(file);
  // Before the first table exists, so that a new database is made with it: the sweeper hands
  // the pages of deleted blobs back to the file system (incremental_vacuum). An existing
  // database made without it keeps auto_vacuum=NONE (switching needs a full VACUUM: README).
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 32 MiB of page cache by default (SQLITE_CACHE_MB) instead of SQLite's 2 MiB: the index pages
  // every message and every delivery touches stay in memory rather than being read back from the
  // file each time. It fills as pages are read, so it is a bound, not an allocation at start.
  db.pragma(`cache_size = -${Math.floor(cacheMb * 1024)}`);
  // Older databases' tables first (src/db/migrate.ts), then the whole current DDL.
  migrate(db);
  db.exec(readFileSync(SCHEMA, 'utf8'));
  return db;
}
