import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { hasColumn } from '../../src/db/migrate.js';
import { openDb } from '../../src/db/open.js';

/** schema.sql as of 490013c, the version before payload modes and spam verdicts. */
const OLD_SCHEMA = readFileSync(new URL('../fixtures/db/schema-490013c.sql', import.meta.url), 'utf8');

describe('migrations: payload modes and spam verdicts', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('brings a database made before them up to date, keeping its rows', () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-migrate-'));
    const file = join(dir, 'mailhook.db');
    const old = new Database(file);
    old.exec(OLD_SCHEMA);
    old.exec(`INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'a@b.c', 1);
      INSERT INTO domains (id, user_id, name, verification_token, created_at) VALUES ('dom_1', 'usr_1', 'example.com', 't', 1);
      INSERT INTO routes (id, user_id, domain_id, match, action, created_at, updated_at) VALUES ('rte_1', 'usr_1', 'dom_1', '*@example.com', 'store', 1, 1);`);
    old.close();

    const db = openDb(file);
    for (const [table, column] of [['routes', 'payload'], ['domains', 'webhook_payload'], ['deliveries', 'payload'], ['messages', 'spam']] as const) {
      expect(hasColumn(db, table, column), `${table}.${column}`).toBe(true);
    }
    expect(db.prepare('SELECT payload FROM routes').get()).toEqual({ payload: 'json' });
    expect(db.prepare('SELECT webhook_payload FROM domains').get()).toEqual({ webhook_payload: 'json' });
    expect(() => db.prepare("UPDATE routes SET payload = 'xml'").run()).toThrow(/CHECK/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'sender_blocks'").get()).toEqual({ name: 'sender_blocks' });
    db.close();
  });
});
