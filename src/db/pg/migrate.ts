import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const SCHEMA = fileURLToPath(new URL('../../../schema.pg.sql', import.meta.url));

/** pg_advisory_lock key of schema changes: 'mhmg' in ASCII. Every node takes the same. */
export const MIGRATION_LOCK = 0x6d686d67;

/**
 * Changes to tables an earlier schema.pg.sql made, like src/db/migrate.ts for SQLite: guarded
 * (ADD COLUMN IF NOT EXISTS …), additive first so an older node keeps running beside a newer one
 * during a deploy. Run before schema.pg.sql, whose indexes may need their columns. Append only.
 */
export const PG_MIGRATIONS: { name: string; sql: string }[] = [];

/**
 * Brings the database to this version's schema, once, whatever the number of nodes starting at
 * the same moment: each takes the advisory lock in turn; the first applies the schema and records
 * its hash in schema_migrations, the others find it recorded and do nothing (concurrent
 * CREATE … IF NOT EXISTS are not safe in PostgreSQL without the lock: they race on the catalog).
 * Returns whether this call applied anything.
 */
export async function migratePg(pool: pg.Pool, schemaSql = readFileSync(SCHEMA, 'utf8')): Promise<boolean> {
  const version = `schema.pg.sql ${createHash('sha256').update(schemaSql).digest('hex').slice(0, 16)}`;
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
      const todo = [...PG_MIGRATIONS.filter((m) => !done.has(m.name)), ...(done.has(version) ? [] : [{ name: version, sql: schemaSql }])];
      if (!todo.length) return false;
      await client.query('BEGIN');
      for (const m of todo) {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [m.name, Date.now()]);
      }
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
