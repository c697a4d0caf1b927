import nodemailer from 'nodemailer';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { seedUserAndDomain } from '../helpers/deps.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// DESIGN §10, "Done means" of issue 15: two nodes on one PostgreSQL and one bucket; mail sent to
// either node is stored once and posted once; one node stops and mail keeps flowing through the other.
const SECRET = 'two-nodes-secret-two-nodes-secret-0123456789';
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

let cluster: PgCluster;
let s3: S3Server;
let receiver: WebhookReceiver;
let env: Record<string, string>;
let deps: Deps;
const nodes: MailhookProcess[] = [];
const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mailhook-node-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  cluster = await startPgCluster();
  s3 = await startS3Server();
  receiver = await startWebhookReceiver();
  env = {
    DATABASE_URL: await cluster.createDatabase('two_nodes'),
    SECRET,
    ...s3.env,
    ALLOW_INSECURE_WEBHOOKS: 'true',
    AUTH_CHECKS: 'false',
    LOG_LEVEL: 'info',
    MX_HOST: 'mx.mailhook.test',
  };
  // This process is a third user of the same database: it seeds the account as any node would.
  deps = createDeps(loadConfig({ ...env, DATA_DIR: dataDir(), LOG_LEVEL: 'silent' }));
  await seedUserAndDomain(deps, 'example.com', { webhookUrl: `${receiver.url}/hook` });
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.kill('SIGKILL');
  await deps?.repos.close();
  await receiver?.close();
  await s3?.close();
  cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const send = async (node: MailhookProcess, n: number) => {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: node.smtpPort, secure: false, ignoreTLS: true });
  try {
    return await t.sendMail({ from: 'a@sender.test', to: `user${n}@example.com`, subject: `m${n}`, text: `message ${n}` });
  } finally {
    t.close();
  }
};

describe('two nodes on one PostgreSQL and one bucket', () => {
  it('store and post each message once, whichever node took it; health says postgres; one node stops and the other carries on', { timeout: 120_000 }, async () => {
    nodes.push(await startMailhook({ ...env, DATA_DIR: dataDir() }), await startMailhook({ ...env, DATA_DIR: dataDir() }));
    const [a, b] = nodes as [MailhookProcess, MailhookProcess];
    const health = (await (await fetch(`http://127.0.0.1:${a.httpPort}/api/health`)).json()) as Record<string, unknown>;
    expect(health).toEqual({ ok: true, engine: 'postgres', checks: { db: true, blobs: true } });

    for (let n = 0; n < 10; n++) expect((await send(n % 2 ? b : a, n)).response).toMatch(/^250 /);
    const got = await receiver.waitFor(10, 60_000);
    const wh = new Webhook((await deps.repos.domains.findVerified('example.com'))!.webhookSecret!);
    const subjects = got.map((r) => (wh.verify(r.body, r.headers as Record<string, string>) as { data: { subject: string } }).data.subject);
    expect(subjects.sort()).toEqual(Array.from({ length: 10 }, (_, n) => `m${n}`).sort());
    // A message stored by node B is read back by node A, its raw bytes from the shared bucket.
    const first = JSON.parse(got[0]!.body) as { data: { id: string; raw_url: string } };
    expect((await deps.repos.messages.getById(first.data.id))?.id).toBe(first.data.id);
    const raw = await fetch(first.data.raw_url.replace(/^https?:\/\/[^/]+/, `http://127.0.0.1:${a.httpPort}`));
    expect(raw.status).toBe(200);

    expect(await a.kill('SIGTERM')).toBe(0);
    for (let n = 10; n < 15; n++) expect((await send(b, n)).response).toMatch(/^250 /);
    const all = await receiver.waitFor(15, 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would arrive now
    expect(receiver.requests.length).toBe(15);
    expect(new Set(all.map((r) => r.headers['webhook-id'])).size).toBe(15);
  });

  it('refuses to start on PostgreSQL without S3_BUCKET or SECRET, naming the variable', { timeout: 60_000 }, async () => {
    const run = (extra: Record<string, string>) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
          env: { ...process.env, DATA_DIR: dataDir(), SMTP_PORT: '0', HTTP_PORT: '0', DATABASE_URL: env.DATABASE_URL!, ...extra },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    const noBucket = await run({ SECRET, S3_BUCKET: '' });
    expect(noBucket.code).toBe(1);
    expect(noBucket.stderr).toMatch(/configuration error: S3_BUCKET must be set with DATABASE_URL/);
    const noSecret = await run({ ...s3.env, SECRET: '' });
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toMatch(/configuration error: SECRET must be set with DATABASE_URL/);
    const badDb = await run({ ...s3.env, SECRET, DATABASE_URL: cluster.url('no_such_db') });
    expect(badDb.code).toBe(1);
    expect(badDb.stderr).toMatch(/cannot use the database of DATABASE_URL: .*no_such_db/);
  });
});
