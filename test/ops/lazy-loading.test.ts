import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { SRC_MAIN, startRecorded, type RecordedMailhook } from '../helpers/recorded-process.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

// Issue #19: on a 256 MB Machine, nothing is loaded that the configuration does not use.
const running: RecordedMailhook[] = [];
const dirs: string[] = [];
let s3: S3Server | undefined;
const start = async (env: Record<string, string>) => {
  const mh = await startRecorded(SRC_MAIN, ['--import', 'tsx'], env);
  running.push(mh);
  return mh;
};
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mailhook-lazy-'));
  dirs.push(d);
  return d;
};

afterEach(async () => {
  for (const mh of running.splice(0)) mh.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await s3?.close();
  s3 = undefined;
});

describe('what a configuration loads', () => {
  it('on the defaults, starts without the AWS SDK, Google sign-in (jose), the auth checks (mailauth), the outbound SMTP client (nodemailer), the MIME parser (mailparser) or PostgreSQL (pg)', async () => {
    const pkgs = await (await start({ DATA_DIR: dataDir() })).packages();
    expect(pkgs.has('better-sqlite3')).toBe(true); // the recorder sees what is loaded
    for (const unused of ['@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner', 'jose', 'mailauth', 'nodemailer', 'mailparser', '@zone-eu/mailsplit', 'pg']) {
      expect(pkgs.has(unused), unused).toBe(false);
    }
  });

  it('loads the AWS SDK when S3_BUCKET is set, and mailauth and mailparser with the first message, which is parsed and stored', async () => {
    s3 = await startS3Server();
    const env = {
      DATA_DIR: dataDir(),
      SECRET: 'lazy-loading-secret-lazy-loading-secret-0123',
      S3_BUCKET: s3.config.bucket,
      S3_ENDPOINT: s3.config.endpoint!,
      S3_REGION: s3.config.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AUTH_CHECKS: 'true',
      DNS_SERVERS: '127.0.0.1:9', // nothing answers there: every check ends as temperror, quickly
    };
    const deps = createDeps(loadConfig({ ...env, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    await addRoute(deps, { userId: user.id, domainId: domain.id });
    deps.db!.close();

    const mh = await start(env);
    const atStart = await mh.packages();
    expect(atStart.has('@aws-sdk/client-s3')).toBe(true);
    expect(atStart.has('mailauth')).toBe(false);
    expect(atStart.has('mailparser')).toBe(false);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: mh.smtpPort, secure: false, ignoreTLS: true });
    const info = await t.sendMail({ from: 'a@sender.test', to: 'x@example.com', subject: 's', text: 't' });
    t.close();
    expect(info.response).toMatch(/^250 /);
    // Parsed by the parser the message itself loaded: the row has what only parsing yields.
    const db = new Database(join(env.DATA_DIR, 'mailhook.db'), { readonly: true });
    const row = db.prepare('SELECT subject, parse_error AS parseError FROM messages').get();
    db.close();
    expect(row).toEqual({ subject: 's', parseError: null });
    const after = await mh.packages();
    expect(after.has('mailauth')).toBe(true);
    expect(after.has('mailparser')).toBe(true);
  });

  it('loads the dashboard with the first page request: not at start, not for the API or the health check', async () => {
    const mh = await start({ DATA_DIR: dataDir(), SECRET: 'lazy-loading-secret-lazy-loading-secret-0123' });
    const dashboard = async () => (await mh.modules()).filter((m) => /\/web\/(web|pages\/auth)\.(ts|tsx|js)$/.test(m));
    expect(await dashboard()).toEqual([]);
    const base = `http://127.0.0.1:${mh.httpPort}`;
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`${base}/api/domains`)).json()).toMatchObject({ error: expect.any(String) });
    expect(await dashboard()).toEqual([]);
    const page = await fetch(`${base}/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in');
    expect((await dashboard()).length).toBe(2);
  });
});
