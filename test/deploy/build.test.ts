import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseTree } from '../../bin/entry.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { startRecorded, type RecordedMailhook } from '../helpers/recorded-process.js';

// Issue #19: production runs compiled JavaScript, with no TypeScript loader in the process.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dockerCmd = () => JSON.parse(/^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1]!) as string[];

describe('npm start picks the tree to run (bin/entry.js)', () => {
  const root = mkdtempSync(join(tmpdir(), 'mailhook-entry-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const touch = (path: string, secondsAgo: number) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), '');
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(join(root, path), t, t);
  };

  it('runs the sources when nothing is built, the build when it is newer than every source, and the sources again after an edit', () => {
    touch('src/main.ts', 100);
    touch('src/api/app.ts', 90);
    expect(chooseTree('main', root)).toBe('src');
    touch('dist/main.js', 50);
    expect(chooseTree('main', root)).toBe('dist');
    touch('src/api/app.ts', 10); // edited after the build: a stale dist/ must not shadow it
    expect(chooseTree('main', root)).toBe('src');
  });

  it('runs the build where there are no sources (the Docker image)', () => {
    rmSync(join(root, 'src'), { recursive: true });
    expect(chooseTree('main', root)).toBe('dist');
  });
});

describe('the compiled server (npm run build, then the Dockerfile CMD)', () => {
  let mh: RecordedMailhook | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-built-'));
  // Its own build folder, beside dist/ (as deep, so schema.sql and node_modules resolve alike):
  // rebuilding dist/ itself would pull it from under a server another test file runs from it.
  const out = join(ROOT, 'dist-test-build');
  afterAll(() => {
    mh?.kill();
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('builds, serves the API, the dashboard assets and mail, with no TypeScript loader loaded', async () => {
    // --noCheck: the type check is npm test's own first step; this test is about what is emitted.
    execFileSync(process.execPath, [join(ROOT, 'bin/build.js'), '--noCheck', '--outDir', out], { stdio: 'pipe' });
    const cmd = dockerCmd();
    expect(cmd.at(-1)).toBe('dist/main.js');
    const env = { DATA_DIR: dir, SECRET: 'built-server-secret-built-server-secret-01', AUTH_CHECKS: 'false', ALLOW_INSECURE_WEBHOOKS: 'true' };
    const deps = createDeps(loadConfig({ ...env, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    await addRoute(deps, { userId: user.id, domainId: domain.id });
    deps.db!.close();

    mh = await startRecorded(join(out, 'main.js'), cmd.slice(1, -1), env);
    const base = `http://127.0.0.1:${mh.httpPort}`;
    expect(await (await fetch(`${base}/api/health`)).json()).toMatchObject({ ok: true });
    const login = await (await fetch(`${base}/login`)).text();
    const css = /href="(\/static\/[^"]*\.css[^"]*)"/.exec(login)?.[1]?.replace(/&amp;/g, '&');
    expect(css).toBeDefined();
    expect((await fetch(`${base}${css}`)).status).toBe(200);

    const t = nodemailer.createTransport({ host: '127.0.0.1', port: mh.smtpPort, secure: false, ignoreTLS: true });
    const info = await t.sendMail({ from: 'a@sender.test', to: 'x@example.com', subject: 'built', text: 'hello' });
    t.close();
    expect(info.response).toMatch(/^250 /);

    const pkgs = await mh.packages();
    expect(pkgs.has('mailparser')).toBe(true);
    expect(pkgs.has('tsx')).toBe(false);
    expect(pkgs.has('typescript')).toBe(false);
  }, 180_000);
});
