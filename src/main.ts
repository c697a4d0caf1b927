import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApp } from './api/app.js';
import { metricsOnlyApp } from './api/metrics.js';
import { ConfigError, loadConfig } from './config.js';
import { createDeliveryWorker } from './deliver/worker.js';
import { createDeps } from './deps.js';
import { clearSpool, spoolDir } from './inbound/spool.js';
import { authCheck } from './inbound/auth-check.js';
import { spamCheck } from './inbound/spam-check.js';
import { exitOnSignals, gracefulStop } from './ops/shutdown.js';
import { NODE_ID } from './node-id.js';
import { createSmtpServer } from './smtp/server.js';
import { createOutboundWorker } from './send/outbound-worker.js';
import { startReclaimer } from './ops/reclaimer.js';
import { removeFsOrphans } from './store/orphans.js';
import { startSweeper } from './store/sweeper.js';

/** Starts SMTP, HTTP, the delivery and outbound workers and the sweeper; stops them cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mailhook: configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const deps = createDeps(config);
  const { log } = deps;
  if (deps.repos.engine === 'postgres') {
    // Connected and migrated before any port opens: a wrong DATABASE_URL stops start-up here
    // instead of answering every message 451.
    try {
      await deps.repos.ping();
    } catch (err) {
      console.error(`mailhook: cannot use the database of DATABASE_URL: ${(err as Error).message}`);
      process.exit(1);
    }
  }
  // Spooled files belong to sessions that never got a 250: the senders will retry them.
  await clearSpool(spoolDir(config.dataDir));
  if (deps.blobs.kind === 'fs') {
    const removed = await removeFsOrphans(deps, join(config.dataDir, 'blobs'));
    if (removed.folders || removed.tmpFiles) log.warn('removed leftovers of an earlier crash', removed);
  }

  deps.metrics.collectProcessMetrics();
  const worker = createDeliveryWorker(deps);
  worker.start();
  const outbound = createOutboundWorker(deps);
  outbound.start();
  // Forward routes queue sends with the message, a DSN updates sends. The delivery worker needs no
  // kick: acceptInbound hands it the deliveries it wrote leased, and wakes its passes only for the
  // ones it left to them (src/deliver/born.ts).
  const onStored = () => outbound.kick();
  const smtp = createSmtpServer(deps, { onStored, checkAuth: authCheck(deps), checkSpam: spamCheck(deps) });
  const smtpPort = await listening('SMTP', config.smtpHost, config.smtpPort, () => smtp.listen(config.smtpPort, config.smtpHost));
  const app = createApp(deps, { kickDeliveries: worker.kick, kickSends: outbound.kick });
  const http = await listening('HTTP', config.httpHost, config.httpPort, () => listenHttp(app, config.httpPort, config.httpHost));
  const httpPort = (http.address() as AddressInfo).port;
  // Fly's scraper reaches this port over the private network and sends no token (README "Operations").
  const metricsHttp =
    config.metricsPort === null
      ? null
      : await listening('METRICS', config.metricsHost, config.metricsPort, () => listenHttp(metricsOnlyApp(deps), config.metricsPort!, config.metricsHost));
  const metricsPort = metricsHttp ? (metricsHttp.address() as AddressInfo).port : null;
  const sweeper = startSweeper(deps);
  // Several nodes: another node's queued mail and sends wake this one's workers (polling stays the backstop).
  const wakeups = config.databaseUrl
    ? (await import('./db/pg/wake.js')).listenWakeups(config.databaseUrl, (kind) => (kind === 'deliveries' ? worker.kick() : outbound.kick()))
    : null;
  // One node closes the attempts of nodes that died once their lease ran out (src/ops/reclaimer.ts).
  const reclaimer = deps.repos.engine === 'postgres' ? startReclaimer(deps.repos, { holder: NODE_ID, now: deps.now, log }) : null;
  log.info('mailhook started', { smtpPort, httpPort, metricsPort, dataDir: config.dataDir, blobs: deps.blobs.kind, engine: deps.repos.engine, nodeId: NODE_ID });

  const running = { smtp, http: metricsHttp ? [http, metricsHttp] : [http], worker, outbound, sweeper, wakeups, reclaimer };
  exitOnSignals(() => gracefulStop(deps, running, config.shutdownTimeoutMs), { log, timeoutMs: config.shutdownTimeoutMs });
}

/**
 * A listener that cannot open stops start-up with the variables that choose it named (a port in
 * use, a privileged port, a host that is not this machine's), not a bare EADDRINUSE stack.
 */
async function listening<T>(prefix: 'SMTP' | 'HTTP' | 'METRICS', host: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE'
        ? `the port is in use by another process: stop it or set another ${prefix}_PORT`
        : e.code === 'EACCES'
          ? `permission denied (ports below 1024 need privileges): set another ${prefix}_PORT or grant the capability`
          : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
            ? `${prefix}_HOST is not an address of this machine (${e.code})`
            : e.message;
    console.error(`mailhook: cannot listen on ${prefix}_HOST:${prefix}_PORT ${host}:${port}: ${why}`);
    process.exit(1);
  }
}

function listenHttp(app: Hono, port: number, hostname: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname }, () => resolve(s as Server));
    s.once('error', reject);
  });
}

main().catch((err) => {
  console.error('mailhook: failed to start:', err);
  process.exit(1);
});
