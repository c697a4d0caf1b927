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
  // Sending (DESIGN §9): the DKIM key pair of each domain; the key itself is made lazily (src/send/dkim-key.ts).
  addColumn('domains', 'dkim_selector', 'TEXT'),
  addColumn('domains', 'dkim_public_key', 'TEXT'),
  addColumn('domains', 'dkim_private_key', 'TEXT'),
  addColumn('domains', 'dkim_verified_at', 'INTEGER'),
  routesActionForward(),
];

/**
 * routes.action gains 'forward' (DESIGN §9). SQLite cannot alter a CHECK, so the table is rebuilt
 * from its own stored definition with only that list changed: columns other migrations added
 * survive, whatever their order. No table references routes (deliveries.route_id is plain text),
 * so dropping the old one breaks no foreign key.
 */
function routesActionForward(): Migration {
  return {
    name: 'routes.action forward',
    up(db) {
      const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'routes'").get() as { sql: string } | undefined;
      if (!row || row.sql.includes("'forward'")) return;
      const sql = row.sql.replace(/'reject'\s*\)/, "'reject', 'forward')");
      if (sql === row.sql) throw new Error('routes.action forward: unexpected routes definition');
      const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').all('routes') as { name: string }[]).map((c) => `"${c.name}"`).join(', ');
      db.exec(sql.replace(/^CREATE TABLE (IF NOT EXISTS )?"?routes"?/, 'CREATE TABLE routes_forward_new'));
      db.exec(`INSERT INTO routes_forward_new (${cols}) SELECT ${cols} FROM routes`);
      db.exec('DROP TABLE routes');
      db.exec('ALTER TABLE routes_forward_new RENAME TO routes');
      // The indexes went with the old table; schema.sql (run next) makes them again.
    },
  };
}

export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): void {
  db.transaction(() => {
    for (const m of migrations) m.up(db);
  })();
}
