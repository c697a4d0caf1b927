import type { Db } from './open.js';

/**
 * Changes to tables that already exist in a database made by an earlier version. schema.sql holds
 * the whole current DDL (CREATE … IF NOT EXISTS) and is what a new database is made from; a
 * migration brings an older database's existing tables up to it, and runs before schema.sql so
 * that schema.sql's indexes on new columns find them. Every migration is guarded by what it
 * changes (a column that is missing, a table definition that lacks something), so it is a no-op on
 * a new database (the table is not there yet) and on one already migrated; order among
 * migrations matters only where one says so. Additive first: an older node can keep running
 * against the migrated database.
 */
export interface Migration {
  name: string;
  up(db: Db): void;
}

export function tableExists(db: Db, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

export function hasColumn(db: Db, table: string, column: string): boolean {
  const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  return cols.some((c) => c.name === column);
}

/** A migration that adds one column to an existing table: `ddl` is what follows ADD COLUMN. */
export function addColumn(table: string, column: string, ddl: string): Migration {
  return {
    name: `${table}.${column}`,
    up(db) {
      if (tableExists(db, table) && !hasColumn(db, table, column)) {
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${ddl}`);
      }
    },
  };
}

/** Every migration, oldest first. Append; never edit one that has shipped. */
export const MIGRATIONS: Migration[] = [
  // Webhook payload modes (json, json+attachments, raw): per route, per catch-all, snapshot per delivery.
  addColumn('routes', 'payload', "TEXT NOT NULL DEFAULT 'json' CHECK (payload IN ('json', 'json+attachments', 'raw'))"),
  addColumn('domains', 'webhook_payload', "TEXT NOT NULL DEFAULT 'json' CHECK (webhook_payload IN ('json', 'json+attachments', 'raw'))"),
  addColumn('deliveries', 'payload', "TEXT NOT NULL DEFAULT 'json' CHECK (payload IN ('json', 'json+attachments', 'raw'))"),
  // The spam filter's verdict per stored message (SPAM_FILTER).
  addColumn('messages', 'spam', 'TEXT'),
];

export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): void {
  db.transaction(() => {
    for (const m of migrations) m.up(db);
  })();
}
