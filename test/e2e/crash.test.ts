import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeps } from '../../src/deps.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const ENV = { ALLOW_INSECURE_WEBHOOKS: 'true', AUTH_CHECKS: 'false', LOG_LEVEL: 'info', MX_HOST: 'mx.crash.test' };

/** Sends `count` messages over `connections` parallel SMTP connections; returns the ids that got a 250. */
async function sendUntilKilled(port: number, count: number, connections: number, acked: Set<string>): Promise<void> {
  let next = 0;
  const lane = async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 });
    try {
      while (next < count) {
        const n = next++;
        try {
          const info = await transport.sendMail({ from: 'a@sender.test', to: 'in@crash.test', subject: `crash ${n}`, text: `message ${n}` });
          const id = /msg_\w+/.exec(info.response ?? '')?.[0];
          if (id) acked.add(id);
        } catch {
          return; // the server died under us: this message got no 250, the sender would retry it
        }
      }
    } finally {
      transport.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
}

describe('crash safety', () => {
  let dir: string;
  let receiver: WebhookReceiver;
  let proc: MailhookProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-crash-'));
    receiver = await startWebhookReceiver();
    // Slow answers keep deliveries in flight when the kill lands.
    receiver.setDefault({ delayMs: 20 });
    const deps = createDeps(loadConfig({ ...ENV, DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, 'crash.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: '*@crash.test',
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
      priority: 1,
      stop: true,
    });
    deps.db!.close();
  });

  afterAll(async () => {
    await proc?.kill('SIGKILL');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message that got a 250 after a SIGKILL mid-load, duplicates with the same webhook-id', { timeout: 120_000 }, async () => {
    const acked = new Set<string>();
    proc = await startMailhook({ ...ENV, DATA_DIR: dir });
    const sending = sendUntilKilled(proc.smtpPort, 400, 8, acked);
    // Kill while mail is flowing and deliveries are in flight.
    while (acked.size < 60) await new Promise((r) => setTimeout(r, 10));
    await proc.kill('SIGKILL');
    await sending;
    const ackedAtKill = acked.size;
    expect(ackedAtKill).toBeGreaterThanOrEqual(60);

    proc = await startMailhook({ ...ENV, DATA_DIR: dir });
    const deadline = Date.now() + 60_000;
    const delivered = () => new Set(receiver.requests.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id));
    while ([...acked].some((id) => !delivered().has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const missing = [...acked].filter((id) => !delivered().has(id));
    expect(missing).toEqual([]);

    // At least once, never two ids for one message: a re-send carries the first attempt's webhook-id.
    const idsPerMessage = new Map<string, Set<string>>();
    for (const r of receiver.requests) {
      const msg = (JSON.parse(r.body) as { data: { id: string } }).data.id;
      const set = idsPerMessage.get(msg) ?? new Set();
      set.add(String(r.headers['webhook-id']));
      idsPerMessage.set(msg, set);
    }
    for (const [msg, ids] of idsPerMessage) expect(ids.size, msg).toBe(1);

    // Complete, not only delivered: each raw message (small: a row of `blobs`, committed with the
    // message in its group commit) reads back whole.
    const deps = createDeps(loadConfig({ ...ENV, DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    try {
      for (const id of acked) {
        const m = (await deps.repos.messages.getById(id))!;
        expect(await deps.repos.blobs.has(m.rawKey), id).toBe(true);
        const chunks: Buffer[] = [];
        for await (const c of await deps.blobs.get(m.rawKey)) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks);
        expect(raw.length, id).toBe(m.size);
        expect(raw.toString()).toContain(`Subject: ${m.parsed.subject}`);
      }
    } finally {
      deps.db!.close();
    }
  });
});
