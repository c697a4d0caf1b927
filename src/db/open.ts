import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

const SCHEMA = fileURLToPath(new URL('../../schema.sql', import.meta.url));

/**
 * Opens (or creates) the database and applies schema.sql. synchronous=FULL makes every
 * commit durable before it returns: the 250 reply to DATA is sent only after one.
 */
export function openDb(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(readFileSync(SCHEMA, 'utf8'));
  return db;
}
