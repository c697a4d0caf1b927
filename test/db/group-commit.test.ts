import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/db/group-commit.js';
import { openDb, type Db } from '../../src/db/open.js';

describe('group commit', () => {
  let dir: string;
  let db: Db;
  const rows = () => (db.prepare('SELECT x FROM t ORDER BY x').all() as { x: number }[]).map((r) => r.x);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-gc-'));
    db = openDb(join(dir, 'test.db'));
    db.exec('CREATE TABLE t (x INTEGER NOT NULL UNIQUE)');
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits the writes queued in one tick together; one that throws is rolled back alone and rejects alone', async () => {
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const gc = groupCommit(db);
    const results = await Promise.allSettled([
      gc.run(() => insert.run(1)),
      gc.run(() => {
        insert.run(2);
        insert.run(1); // UNIQUE violation after a row of its own: both must go
      }),
      gc.run(() => insert.run(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(rows()).toEqual([1, 3]);
  });

  it('runs a batch without a savepoint per write unless one of them throws', async () => {
    // Every statement better-sqlite3 runs, its own SAVEPOINTs included, goes through these.
    const proto = Object.getPrototypeOf(db.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
    const original = { run: proto.run!, get: proto.get!, all: proto.all! };
    const seen: string[] = [];
    for (const m of ['run', 'get', 'all'] as const) {
      proto[m] = function (this: { source: string }, ...args: unknown[]) {
        seen.push(this.source);
        return original[m].apply(this, args);
      };
    }
    try {
      const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
      const gc = groupCommit(db);
      await Promise.all([gc.run(() => insert.run(1)), gc.run(() => insert.run(2)), gc.run(() => insert.run(3))]);
      expect(seen.filter((s) => /SAVEPOINT/i.test(s))).toEqual([]);
      expect(seen.filter((s) => s.startsWith('INSERT'))).toHaveLength(3);
      seen.length = 0;
      const results = await Promise.allSettled([gc.run(() => insert.run(4)), gc.run(() => insert.run(1)), gc.run(() => insert.run(5))]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(seen.filter((s) => /^SAVEPOINT/i.test(s)).length).toBe(3); // the second run, one per write
      expect(rows()).toEqual([1, 2, 3, 4, 5]);
    } finally {
      Object.assign(proto, original);
    }
  });

  it('returns what the write returned, and leaves synchronous=FULL for every other writer', async () => {
    const value = await groupCommit(db).run(() => db.prepare('INSERT INTO t (x) VALUES (7) RETURNING x').get());
    expect(value).toEqual({ x: 7 });
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('keeps committing in order under a stream of writes, each visible once its promise resolved', async () => {
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const gc = groupCommit(db);
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        new Promise((r) => setTimeout(r, i % 7)).then(() =>
          gc.run(() => insert.run(i)).then(() => {
            expect(db.prepare('SELECT 1 FROM t WHERE x = ?').get(i)).toBeDefined();
            done.push(i);
          }),
        ),
      ),
    );
    expect(done).toHaveLength(200);
    expect(rows()).toHaveLength(200);
  });

  it('rejects every write of a batch the database cannot take', async () => {
    const gc = groupCommit(db);
    db.close();
    await expect(gc.run(() => 1)).rejects.toThrow(/not open/);
  });
});
