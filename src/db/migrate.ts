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

/**
 * deliveries.domain_id (issue 11): which domain a delivery belongs to was inferred from its route
 * (gone once the route is deleted) or, for a catch-all, from every domain of its message. The
 * column is filled for old rows where the answer is certain: the route still exists; the message
 * was addressed to one domain only; a catch-all delivery carries the signing secret of exactly one
 * of its message's domains (catch-all secrets are random per domain). The rest stays NULL and
 * is visible to unrestricted credentials only: guessing would hand it to the wrong domain's key.
 */
export const deliveriesDomainId: Migration = {
  name: 'deliveries.domain_id',
  up(db) {
    if (!tableExists(db, 'deliveries') || hasColumn(db, 'deliveries', 'domain_id')) return;
    db.exec(`ALTER TABLE deliveries ADD COLUMN domain_id TEXT`);
    db.exec(`UPDATE deliveries SET domain_id = (SELECT rt.domain_id FROM routes rt WHERE rt.id = deliveries.route_id)
      WHERE route_id IS NOT NULL`);
    if (!tableExists(db, 'message_recipients')) return;
    db.exec(`UPDATE deliveries SET domain_id = (SELECT MIN(r.domain_id) FROM message_recipients r WHERE r.message_id = deliveries.message_id)
      WHERE domain_id IS NULL
        AND (SELECT COUNT(DISTINCT r.domain_id) FROM message_recipients r WHERE r.message_id = deliveries.message_id) = 1`);
    db.exec(`UPDATE deliveries SET domain_id = (SELECT MIN(dm.id) FROM message_recipients r JOIN domains dm ON dm.id = r.domain_id
        WHERE r.message_id = deliveries.message_id AND dm.webhook_secret = deliveries.secret)
      WHERE domain_id IS NULL AND route_id IS NULL
        AND (SELECT COUNT(DISTINCT dm.id) FROM message_recipients r JOIN domains dm ON dm.id = r.domain_id
             WHERE r.message_id = deliveries.message_id AND dm.webhook_secret = deliveries.secret) = 1`);
  },
};

/** Every migration, oldest first. Append; never edit one that has shipped. */
export const MIGRATIONS: Migration[] = [
  deliveriesDomainId,
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
