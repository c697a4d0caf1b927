import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApp } from './api/app.js';
import { ConfigError, loadConfig } from './config.js';
import { createDeliveryWorker } from './deliver/worker.js';
import { createDeps } from './deps.js';
import { clearSpool, spoolDir } from './inbound/spool.js';
import { authCheck } from './inbound/auth-check.js';
import { spamCheck } from './inbound/spam-check.js';
import { createSmtpServer } from './smtp/server.js';
import { removeFsOrphans } from './store/orphans.js';
import { startSweeper } from './store/sweeper.js';

/** Starts SMTP, HTTP, the delivery worker and the sweeper; stops them cleanly on SIGTERM/SIGINT. */
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
  // Spooled files belong to sessions that never got a 250: the senders will retry them.
  await clearSpool(spoolDir(config.dataDir));
  if (deps.blobs.kind === 'fs') {
    const removed = await removeFsOrphans(deps, join(config.dataDir, 'blobs'));
    if (removed.folders || removed.tmpFiles) log.warn('removed leftovers of an earlier crash', removed);
  }

  const worker = createDeliveryWorker(deps);
  worker.start();
  const smtp = createSmtpServer(deps, { onStored: worker.kick, checkAuth: authCheck(deps), checkSpam: spamCheck(deps) });
  const smtpPort = await smtp.listen(config.smtpPort, config.smtpHost);
  const app = createApp(deps, { kickDeliveries: worker.kick });
  const http = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.httpHost }, () => resolve(s));
  });
  const httpPort = (http.address() as AddressInfo).port;
  const sweeper = startSweeper(deps);
  log.info('mailhook started', { smtpPort, httpPort, dataDir: config.dataDir, blobs: deps.blobs.kind });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    sweeper.stop();
    await Promise.all([smtp.close(), new Promise((r) => http.close(r)), worker.stop()]);
    deps.db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error('mailhook: failed to start:', err);
  process.exit(1);
});
