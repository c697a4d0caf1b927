import pg from 'pg';
import { performance } from 'node:perf_hooks';

/**
 * PostgreSQL's answer to SQLite's group commit (src/db/group-commit.ts), measured rather than
 * assumed: rows/s of durable commits (synchronous_commit=on, each INSERT its own transaction)
 * one at a time, from many connections at once (the WAL writer flushes concurrent commits with
 * one fsync), and many rows per INSERT (one commit for a batch, as SQLite's group commit does).
 * synchronous_commit=off is printed as the ceiling without durability, never what Mailhook uses.
 */
export interface CommitFigures {
  serial: number;
  concurrent: number;
  multiRow: number;
  asyncCommit: number;
  connections: number;
  batch: number;
}

const BODY = 'x'.repeat(4096); // about a small message's raw bytes

async function timed(rows: number, run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (rows / (performance.now() - t0)) * 1000;
}

export async function measureCommits(url: string, opts: { rows: number; connections: number; batch: number }): Promise<CommitFigures> {
  const { rows, connections, batch } = opts;
  const pool = new pg.Pool({ connectionString: url, max: connections });
  try {
    await pool.query('DROP TABLE IF EXISTS bench_commit');
    await pool.query('CREATE TABLE bench_commit (id bigserial PRIMARY KEY, body text NOT NULL)');
    const insertOne = (c: pg.PoolClient | pg.Pool) => c.query('INSERT INTO bench_commit (body) VALUES ($1)', [BODY]);
    const serialLoop = async (c: pg.PoolClient, n: number) => {
      for (let i = 0; i < n; i++) await insertOne(c);
    };
    const withClient = async (fn: (c: pg.PoolClient) => Promise<void>) => {
      const c = await pool.connect();
      try {
        await fn(c);
      } finally {
        c.release();
      }
    };
    // Warm the connections and the table once.
    await Promise.all(Array.from({ length: connections }, () => withClient((c) => serialLoop(c, 5))));

    const serial = await timed(rows, () => withClient((c) => serialLoop(c, rows)));
    const per = Math.ceil(rows / connections);
    const concurrent = await timed(per * connections, () =>
      Promise.all(Array.from({ length: connections }, () => withClient((c) => serialLoop(c, per)))).then(() => undefined),
    );
    const values = Array.from({ length: batch }, (_, i) => `($${i + 1})`).join(', ');
    const batches = Math.ceil(rows / batch);
    const multiRow = await timed(batches * batch, () =>
      withClient(async (c) => {
        for (let i = 0; i < batches; i++) await c.query(`INSERT INTO bench_commit (body) VALUES ${values}`, Array(batch).fill(BODY));
      }),
    );
    const asyncCommit = await timed(rows, () =>
      withClient(async (c) => {
        await c.query('SET synchronous_commit = off');
        await serialLoop(c, rows);
        await c.query('RESET synchronous_commit');
      }),
    );
    await pool.query('DROP TABLE bench_commit');
    return { serial, concurrent, multiRow, asyncCommit, connections, batch };
  } finally {
    await pool.end();
  }
}
