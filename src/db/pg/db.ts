import type pg from 'pg';

/**
 * What a PostgreSQL table module runs its SQL on: the pool (each statement its own transaction)
 * or one transaction's client. `tx` runs `fn` in a transaction: a new one on the pool, the
 * current one inside a transaction (so a table method that writes several rows is atomic either way).
 */
export interface PgDb {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  tx<T>(fn: (db: PgDb) => Promise<T>): Promise<T>;
}

/** Rows of `sql`. */
export async function rows<R extends pg.QueryResultRow>(db: PgDb, sql: string, params: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(sql, params)).rows;
}

/** The first row of `sql`, or null. */
export async function row<R extends pg.QueryResultRow>(db: PgDb, sql: string, params: unknown[] = []): Promise<R | null> {
  return (await db.query<R>(sql, params)).rows[0] ?? null;
}

/** How many rows `sql` changed. */
export async function changes(db: PgDb, sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query(sql, params)).rowCount ?? 0;
}
