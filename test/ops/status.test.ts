import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { SEND_EVENT_QUEUE_SQL, SEND_QUEUE_SQL, WEBHOOK_QUEUE_SQL } from '../../src/ops/queues.js';
import { startSweeper } from '../../src/store/sweeper.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { parsePromText } from '../helpers/prom-text.js';
import { seedDelivery, seedMessage } from '../deliver/seed.js';

const BIN = fileURLToPath(new URL('../../bin/mailhook.js', import.meta.url));
const run = promisify(execFile);
const TOKEN = 'status-token-0123456789abcdef';

interface Status {
  queues: Record<'webhook' | 'send' | 'send_event', { depth: number; due: number; oldest_due_at: string | null; oldest_due_age_seconds: number }>;
  last_sweep: { ok: boolean; finished_at: string; last_success_at: string | null; messages_deleted: number } | null;
  database: { path: string; bytes: number; wal_bytes: number };
}

describe('mailhook status', () => {
  let deps: TestDeps;
  let clock = Date.now();
  const status = async () =>
    JSON.parse((await run(process.execPath, [BIN, 'status'], { env: { ...process.env, DATA_DIR: deps.config.dataDir, LOG_LEVEL: 'silent' } })).stdout) as Status;

  beforeAll(() => {
    deps = testDeps({ METRICS_TOKEN: TOKEN }, { now: () => clock });
  });
  afterAll(() => deps.cleanup());

  it('reports empty queues and no sweep on a new database', async () => {
    const s = await status();
    const empty = { depth: 0, due: 0, oldest_due_at: null, oldest_due_age_seconds: 0 };
    expect(s.queues).toEqual({ webhook: empty, send: empty, send_event: empty });
    expect(s.last_sweep).toBeNull();
    expect(s.database.path).toBe(deps.db.name);
    expect(s.database.bytes).toBeGreaterThan(0);
  });

  it('shows queue depth, due items, the oldest due item and the last sweep: the numbers /metrics exports', { timeout: 60_000 }, async () => {
    const { user, domain } = await seedUserAndDomain(deps);
    const owner = { userId: user.id, domainId: domain.id };
    const now = Date.now();
    // Two due (90 s and 30 s late) and one scheduled an hour ahead.
    for (const at of [now - 90_000, now - 30_000, now + 3_600_000]) {
      clock = at;
      const { message } = await seedMessage(deps, owner);
      await seedDelivery(deps, { userId: user.id, messageId: message.id, url: 'https://hooks.example.org/x' });
    }
    clock = now;
    // A real sweep, recorded in the database by the sweeper itself (once it holds its lease).
    const sweeper = startSweeper(deps);
    const until = Date.now() + 10_000;
    while (!await deps.repos.opsState.lastSweep() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await sweeper.stop();

    const s = await status();
    expect(s.queues.webhook.depth).toBe(3);
    expect(s.queues.webhook.due).toBe(2);
    expect(s.queues.webhook.oldest_due_at).toBe(new Date(now - 90_000).toISOString());
    expect(s.queues.webhook.oldest_due_age_seconds).toBeGreaterThanOrEqual(90);
    expect(s.queues.webhook.oldest_due_age_seconds).toBeLessThan(150);
    expect(s.last_sweep).toMatchObject({ ok: true, finished_at: new Date(now).toISOString(), last_success_at: new Date(now).toISOString() });

    const res = await createApp(deps).request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    const m = parsePromText(await res.text());
    expect(m.value('mailhook_queue_depth', { kind: 'webhook' })).toBe(s.queues.webhook.depth);
    expect(m.value('mailhook_queue_due', { kind: 'webhook' })).toBe(s.queues.webhook.due);
    expect(m.value('mailhook_queue_oldest_due_age_seconds', { kind: 'webhook' })).toBe(90);
    expect(m.value('mailhook_sweep_last_success_timestamp_seconds')).toBe(now / 1000);
    expect(m.value('mailhook_database_bytes')).toBeGreaterThan(0);
  });

  it('reads the queue from the pending range of a covering index, not the whole table', () => {
    const plan = deps.db.prepare(`EXPLAIN QUERY PLAN ${WEBHOOK_QUEUE_SQL}`).all({ now: 0 }) as { detail: string }[];
    expect(plan.map((p) => p.detail)).toEqual(['SEARCH deliveries USING COVERING INDEX deliveries_due (status=?)']);
  });

  it('reads the outbound queue and its events from their partial indexes (pending rows only)', () => {
    const plan = (sql: string) => (deps.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ now: 0 }) as { detail: string }[]).map((p) => p.detail);
    expect(plan(SEND_QUEUE_SQL)).toEqual(['SCAN send_recipients USING COVERING INDEX send_recipients_due']);
    expect(plan(SEND_EVENT_QUEUE_SQL)).toEqual(['SCAN send_events USING COVERING INDEX send_events_due']);
  });

  it('records a sweep that failed (blob store down), with its error', { timeout: 30_000 }, async () => {
    let t = Date.now();
    const d = testDeps({}, { now: () => t });
    try {
      const { user, domain } = await seedUserAndDomain(d);
      t -= 8 * 24 * 3600 * 1000; // an attachment past its 7-day link: the sweep deletes its object
      await seedMessage(d, { userId: user.id, domainId: domain.id }, { attachments: 1 });
      t = Date.now();
      d.blobs = { ...d.blobs, delete: () => Promise.reject(new Error('store unreachable')) };
      const sweeper = startSweeper(d);
      const until = Date.now() + 10_000;
      while (!await d.repos.opsState.lastSweep() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await sweeper.stop();
      expect(await d.repos.opsState.lastSweep()).toMatchObject({ ok: false, error: 'store unreachable', lastSuccessAt: null });
    } finally {
      await d.cleanup();
    }
  });

  it('keeps the last success when a later sweep fails', async () => {
    const first = await deps.repos.opsState.recordSweep({ startedAt: 1, finishedAt: 2, ok: true, error: null, attachmentsPurged: 0, messagesDeleted: 0 });
    expect(first.lastSuccessAt).toBe(2);
    const failed = await deps.repos.opsState.recordSweep({ startedAt: 3, finishedAt: 4, ok: false, error: 'S3 down', attachmentsPurged: 0, messagesDeleted: 0 });
    expect(failed).toMatchObject({ ok: false, error: 'S3 down', lastSuccessAt: 2 });
    expect(await deps.repos.opsState.lastSweep()).toEqual(failed);
  });
});
