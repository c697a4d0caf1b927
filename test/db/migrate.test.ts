import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { addColumn, hasColumn, migrate } from '../../src/db/migrate.js';
import { openDb } from '../../src/db/open.js';

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

describe('deliveries.domain_id (issue 11 item 4): a database made before the column', () => {
  const schema = readFileSync(fileURLToPath(new URL('../../schema.sql', import.meta.url)), 'utf8');
  // The DDL of the version before: deliveries without domain_id.
  const before = schema.replace(/,\n(\s*--[^\n]*\n)*\s*domain_id\s+TEXT\n\) STRICT;/, '\n) STRICT;');
  let dir: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds the column and fills it where the answer is certain; the rest stays NULL', () => {
    expect(before).not.toBe(schema);
    dir = mkdtempSync(join(tmpdir(), 'mailhook-migrate-'));
    const file = join(dir, 'old.db');
    const old = new Database(file);
    old.exec(before);
    expect(hasColumn(old, 'deliveries', 'domain_id')).toBe(false);
    old.exec(`
      INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'o@example.org', 0);
      INSERT INTO domains (id, user_id, name, verification_token, webhook_secret, created_at) VALUES
        ('dom_a', 'usr_1', 'a.test', 't1', 'whsec_a', 0), ('dom_b', 'usr_1', 'b.test', 't2', 'whsec_b', 0);
      INSERT INTO routes (id, user_id, domain_id, match, action, destination, secret, created_at, updated_at) VALUES
        ('rte_b', 'usr_1', 'dom_b', '*@b.test', 'webhook', 'https://h.test/b', 'whsec_r', 0, 0);
      INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, size, raw_key, parsed, received_at) VALUES
        ('msg_one', 'usr_1', 'dom_a', '', '[]', 'h', '1.2.3.4', 0, 1, 'k1', '{}', 0),
        ('msg_two', 'usr_1', 'dom_a', '', '[]', 'h', '1.2.3.4', 0, 1, 'k2', '{}', 0);
      INSERT INTO message_recipients (message_id, address, domain_id) VALUES
        ('msg_one', 'x@a.test', 'dom_a'), ('msg_two', 'x@a.test', 'dom_a'), ('msg_two', 'y@b.test', 'dom_b');
    `);
    const deliver = old.prepare(`INSERT INTO deliveries (id, user_id, message_id, route_id, url, secret, dest, status, created_at, updated_at)
      VALUES (?, 'usr_1', ?, ?, 'https://h.test/x', ?, 'https://h.test', 'pending', 0, 0)`);
    const rows: [string, string, string | null, string, string | null][] = [
      // id, message, route, secret, the domain it must get
      ['dlv_live_route', 'msg_two', 'rte_b', 'whsec_r', 'dom_b'],
      ['dlv_gone_route_one_domain', 'msg_one', 'rte_gone', 'whsec_r', 'dom_a'],
      ['dlv_catchall_one_domain', 'msg_one', null, 'whsec_a', 'dom_a'],
      ['dlv_catchall_by_secret', 'msg_two', null, 'whsec_b', 'dom_b'],
      ['dlv_gone_route_two_domains', 'msg_two', 'rte_gone', 'whsec_r', null],
      ['dlv_catchall_secret_rotated', 'msg_two', null, 'whsec_old', null],
    ];
    for (const [id, message, route, secret] of rows) deliver.run(id, message, route, secret);
    old.close();

    const db = openDb(file);
    const got = Object.fromEntries((db.prepare('SELECT id, domain_id FROM deliveries').all() as { id: string; domain_id: string | null }[]).map((r) => [r.id, r.domain_id]));
    expect(got).toEqual(Object.fromEntries(rows.map(([id, , , , domain]) => [id, domain])));
    // Once migrated, opening again changes nothing (and keeps a later value).
    db.prepare("UPDATE deliveries SET domain_id = 'dom_a' WHERE id = 'dlv_catchall_secret_rotated'").run();
    db.close();
    const again = openDb(file);
    expect(again.prepare("SELECT domain_id FROM deliveries WHERE id = 'dlv_catchall_secret_rotated'").get()).toEqual({ domain_id: 'dom_a' });
    again.close();
  });
});
