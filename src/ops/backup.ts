import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openDb } from '../db/open.js';

/** A refusal with a message for the operator (the CLI prints it and exits 1). */
export class OpsError extends Error {}

export const DB_FILE = 'mailhook.db';

/** Pages per backup step after the first: everything, so the copy is one read transaction. */
const ALL_PAGES = 2 ** 30;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The backup is a whole Mailhook database that passes SQLite's own check; else an OpsError naming the file. */
function check(file: string): { messages: number } {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const ok = db.pragma('quick_check', { simple: true });
    if (ok !== 'ok') throw new OpsError(`${file} is damaged: ${String(ok)}`);
    const messages = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").get();
    if (!messages) throw new OpsError(`${file} is not a Mailhook database (no messages table)`);
    return { messages: (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n };
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError(`${file} is not a readable SQLite database: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

/**
 * A consistent copy of the live database at `dest`, taken while the server keeps writing.
 * SQLite's online backup restarts whenever another connection writes between two steps; after a
 * first small step the rest is copied in one step, which reads one WAL snapshot (the server's
 * commits go on meanwhile), so it restarts at most once and the copy is the database as of one
 * commit. It is written to a temporary name, switched out of WAL mode (one self-contained file),
 * checked, fsync'd and only then renamed to `dest`: a crash never leaves a partial file there.
 */
export async function backupDatabase(dataDir: string, dest: string): Promise<{ file: string; bytes: number; messages: number }> {
  const source = join(dataDir, DB_FILE);
  if (!existsSync(source)) throw new OpsError(`no database at ${source} (is DATA_DIR right?)`);
  if (existsSync(dest)) throw new OpsError(`${dest} already exists; give a new file name`);
  const tmp = `${dest}.partial-${process.pid}`;
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(tmp, { progress: () => ALL_PAGES });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new OpsError(`backup failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  try {
    const copy = new Database(tmp);
    copy.pragma('journal_mode = DELETE');
    copy.close();
    const { messages } = check(tmp);
    fsyncPath(tmp);
    renameSync(tmp, dest);
    fsyncPath(dirname(dest));
    return { file: dest, bytes: statSync(dest).size, messages };
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Puts a backup in place as the database of an empty DATA_DIR, then opens it once the way the
 * server does (migrations, schema.sql), so a backup from an older version comes up current.
 * A DATA_DIR with anything in it is refused: restoring over live data is never what was meant.
 */
export async function restoreDatabase(file: string, dataDir: string): Promise<{ dataDir: string; messages: number }> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new OpsError(`DATA_DIR ${dataDir} is not empty: restore only into an empty one (move the old one aside first)`);
  }
  const { messages } = check(file);
  const target = join(dataDir, DB_FILE);
  const tmp = `${target}.partial`;
  const src = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // A missing DATA_DIR is made only now, after the file passed its check.
    mkdirSync(dataDir, { recursive: true });
    await src.backup(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new OpsError(`restore failed: ${(err as Error).message}`);
  } finally {
    src.close();
  }
  fsyncPath(tmp);
  renameSync(tmp, target);
  fsyncPath(dataDir);
  openDb(target).close();
  return { dataDir, messages };
}
