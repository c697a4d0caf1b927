import pg from 'pg';
import { NODE_ID } from '../../node-id.js';
import type { PgDb } from './db.js';

/**
 * A pool on DATABASE_URL. int8 (BIGINT: epoch ms, sizes, counts) and numeric (SUM) are parsed to
 * JS numbers, as better-sqlite3 returns them; every value Mailhook stores is far below 2^53.
 * synchronous_commit=on whatever the server's default: a commit returns only once it is durable,
 * so the 250 after storeInbound means what it means on SQLite (DESIGN §1, §10).
 */
export function openPg(url: string, opts: { max?: number } = {}): pg.Pool {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error('DATABASE_URL must be a postgres:// URL');
  const types = new pg.TypeOverrides();
  types.setTypeParser(20, Number);
  types.setTypeParser(1700, Number);
  // application_name: which node a connection (pg_stat_activity) and an attempt row (node_id) belong to.
  const pool = new pg.Pool({ connectionString: url, types, max: opts.max ?? 10, options: '-c synchronous_commit=on', application_name: NODE_ID });
  // An idle client whose server went away: the pool drops it and the next query reconnects.
  // Without a listener, that 'error' event would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Errors worth running the whole transaction again for: deadlock, serialization failure. */
const RETRYABLE = new Set(['40P01', '40001']);

async function inTransaction<T>(pool: pg.Pool, fn: (db: PgDb) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    const db: PgDb = { query: (sql, params) => client.query(sql, params), tx: (f) => f(db) };
    try {
      await client.query('BEGIN');
      const result = await fn(db);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      // A client whose ROLLBACK fails is broken: release(err) closes it instead of pooling it.
      const broken = await client.query('ROLLBACK').then(() => undefined, (e: Error) => e);
      client.release(broken);
      const code = (err as { code?: string }).code;
      if (attempt < 3 && code && RETRYABLE.has(code)) continue;
      throw err;
    }
  }
}

/** The PgDb of a pool: statements autocommit, `tx` opens a transaction. */
export function poolDb(pool: pg.Pool): PgDb {
  return { query: (sql, params) => pool.query(sql, params), tx: (fn) => inTransaction(pool, fn) };
}
