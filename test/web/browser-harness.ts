import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp } from '../../src/api/app.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * README's screenshots are rewritten only on request (`UPDATE_SCREENSHOTS=1`): a test run would
 * otherwise leave every tracked PNG modified (new ids and times in them). Without it the pages are
 * still rendered and captured, into a folder under the system's temporary directory.
 */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1'
  ? new URL('../../docs/screenshots/', import.meta.url)
  : pathToFileURL(`${tmpdir()}/mailhook-screenshots/`);
export const MX_HOST = 'mx.mailhook.example';

/** Mailhook as main.ts runs it (HTTP on a loopback port, SMTP, delivery worker) plus DNS and a receiver. */
export interface Stack {
  base: string;
  deps: TestDeps;
  dns: TestDnsServer;
  receiver: WebhookReceiver;
  smtp: RunningSmtp;
  worker: DeliveryWorker;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const dns = await startDnsServer();
  const receiver = await startWebhookReceiver();
  // The port is known once listening; PUBLIC_URL (links, OAuth, CSRF origin) must name it.
  const late: { app?: Hono } = {};
  const http = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: (req, env) => late.app!.fetch(req, env), port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const deps = testDeps({ DNS_SERVERS: dns.address, MX_HOST, PUBLIC_URL: base });
  const worker = createDeliveryWorker(deps);
  worker.start();
  late.app = createApp(deps, { kickDeliveries: worker.kick });
  const smtp = await startSmtp(deps, { onStored: worker.kick });
  return {
    base,
    deps,
    dns,
    receiver,
    smtp,
    worker,
    async close() {
      await smtp.close();
      await worker.stop();
      (http as Server).closeAllConnections();
      await new Promise((r) => http.close(r));
      await Promise.all([dns.close(), receiver.close()]);
      await deps.cleanup();
    },
  };
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // Root in CI needs --no-sandbox; the rest keeps Chromium off the (closed) network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface ConsoleEntry {
  text: string;
  url: string;
}

/** Console errors and uncaught exceptions of a page and its frames. */
export function watchConsole(page: Page): ConsoleEntry[] {
  const seen: ConsoleEntry[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') seen.push({ text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => seen.push({ text: `uncaught: ${err.message}`, url: page.url() }));
  return seen;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}
