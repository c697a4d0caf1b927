import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';

const BIN = fileURLToPath(new URL('../../bin/mailhook.js', import.meta.url));
const run = promisify(execFile);

describe('mailhook CLI', () => {
  let dir: string;
  const cli = (...args: string[]) =>
    run(process.execPath, [BIN, ...args], { env: { ...process.env, DATA_DIR: dir, LOG_LEVEL: 'silent' } });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a user, and force-verifies a domain added through the API', { timeout: 60_000 }, async () => {
    const created = JSON.parse((await cli('user', 'create', '--email', 'Owner@Example.org', '--password', 'long enough pw')).stdout);
    expect(created.user.email).toBe('owner@example.org');
    expect(created.token).toMatch(/^mhs_/);

    const deps = createDeps(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    const res = await createApp(deps).request('/api/domains', {
      method: 'POST',
      headers: { authorization: `Bearer ${created.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli.example' }),
    });
    expect(res.status).toBe(201);
    deps.db!.close();

    const verified = JSON.parse((await cli('domain', 'verify', 'cli.example', '--email', 'owner@example.org', '--force')).stdout);
    expect(verified.status).toBe('verified');
    expect(verified.can_send).toBe(true);
    // Issue 11 item 6: a forced verification is a check in the API's shape, not { forced: true }.
    expect(verified.last_check).toMatchObject({ ok: true, records: [], forced: true });

    const token = JSON.parse((await cli('token', 'create', '--email', 'owner@example.org')).stdout);
    expect(token.token).toMatch(/^mhs_/);
    expect(token.token).not.toBe(created.token);
  });

  it('fails with a message and exit code 1 for an unknown account or command', async () => {
    await expect(cli('token', 'create', '--email', 'nobody@example.org')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no account with email nobody@example.org'),
    });
    await expect(cli('frobnicate', 'now')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('mailhook user create') });
  });
});
