import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePromText } from '../helpers/prom-text.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';

describe('METRICS_PORT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-metrics-port-'));
  let proc: MailhookProcess | undefined;
  afterAll(async () => {
    await proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics alone on its own listener, with process metrics, and closes it on SIGTERM', { timeout: 60_000 }, async () => {
    proc = await startMailhook({ DATA_DIR: dir, AUTH_CHECKS: 'false', LOG_LEVEL: 'info', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' });
    const line = proc.log().split('\n').find((l) => l.includes('"mailhook started"'))!;
    const { metricsPort } = JSON.parse(line) as { metricsPort: number };
    expect(metricsPort).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const m = parsePromText(await res.text());
    expect(m.types.get('mailhook_queue_depth')).toBe('gauge');
    expect(m.value('process_start_time_seconds')).toBeGreaterThan(0);
    // Only the metrics: the API is not reachable through this port.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/api/health`)).status).toBe(404);
    // The API port serves it to loopback too.
    expect((await fetch(`http://127.0.0.1:${proc.httpPort}/metrics`)).status).toBe(200);
    expect(await proc.kill('SIGTERM')).toBe(0);
  });
});
