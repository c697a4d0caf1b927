import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { addColumn, hasColumn, migrate } from '../../src/db/migrate.js';

describe('migrate', () => {
  it('adds a missing column to a table made by an older version, once', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY) STRICT');
    db.prepare('INSERT INTO t (id) VALUES (?)').run('a');
    const m = [addColumn('t', 'note', "TEXT NOT NULL DEFAULT 'x'")];
    migrate(db, m);
    migrate(db, m);
    expect(hasColumn(db, 't', 'note')).toBe(true);
    expect(db.prepare('SELECT note FROM t').get()).toEqual({ note: 'x' });
  });

  it('does nothing where the table does not exist yet (schema.sql makes it whole)', () => {
    const db = new Database(':memory:');
    migrate(db, [addColumn('t', 'note', 'TEXT')]);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").get()).toEqual({ n: 0 });
  });
});
