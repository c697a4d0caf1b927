import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dkimVerify } from 'mailauth';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';
import { staticResolver } from '../helpers/sending.js';

const BIN = fileURLToPath(new URL('../../bin/mailhook.js', import.meta.url));
const run = promisify(execFile);
const SECRET = 'cli-send-secret-cli-send-secret-0123456789';

describe('mailhook send', () => {
  let dir: string;
  let dns: TestDnsServer;
  let mx: MxServer;
  let proc: MailhookProcess | undefined;
  const env = () => ({ ...process.env, DATA_DIR: dir, SECRET, LOG_LEVEL: 'silent' });
  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: env() });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-cli-send-'));
    [dns, mx] = await Promise.all([startDnsServer(), startMxServer()]);
  });
  afterAll(async () => {
    await proc?.kill('SIGTERM');
    await Promise.all([dns.close(), mx.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('queues a signed message with an attachment that the running server delivers to the MX', { timeout: 120_000 }, async () => {
    const { token } = JSON.parse((await cli('user', 'create', '--email', 'owner@example.org', '--password', 'long enough pw')).stdout);
    const deps = createDeps(loadConfig({ DATA_DIR: dir, SECRET, LOG_LEVEL: 'silent' }));
    const res = await createApp(deps).request('/api/domains', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli-send.test' }),
    });
    const domain = (await res.json()) as { records: { purpose: string; name: string; value: string }[] };
    await deps.repos.close();
    const dkim = domain.records.find((r) => r.purpose === 'dkim')!;
    const dkimRecord = { name: dkim.name, type: 'TXT' as const, value: dkim.value };
    expect(JSON.parse((await cli('domain', 'verify', 'cli-send.test', '--email', 'owner@example.org', '--force')).stdout).can_send).toBe(true);
    dns.set([dkimRecord, { name: 'dest.test', type: 'MX', value: 'mx.dest.test' }, { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' }]);

    proc = await startMailhook({ DATA_DIR: dir, SECRET, ALLOW_INSECURE_WEBHOOKS: 'true', AUTH_CHECKS: 'false', DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) });
    const attachment = Buffer.from([0, 1, 2, 250, 251, 255, 10, 13]);
    writeFileSync(join(dir, 'report.bin'), attachment);
    writeFileSync(join(dir, 'body.txt'), 'Hello from the command line.\n');
    const args = ['send', '--email', 'owner@example.org', '--from', 'Owner <hello@cli-send.test>', '--to', 'ada@dest.test', '--cc', 'bob@dest.test'];
    const more = ['--subject', 'From the CLI', '--text-file', join(dir, 'body.txt'), '--attach', join(dir, 'report.bin'), '--idempotency-key', 'cli-1'];
    const queued = JSON.parse((await cli(...args, ...more)).stdout);
    expect(queued).toEqual({ id: expect.stringMatching(/^snd_/), status: 'queued' });
    // The same key again: the first answer, nothing new queued.
    expect(JSON.parse((await cli(...args, ...more)).stdout)).toEqual(queued);

    const copies = await mx.waitFor(2, 60_000).catch((err) => {
      console.log(proc!.log());
      throw err;
    });
    // A transaction per recipient, each with its own VERP tag (an HMAC of the send and the recipient, src/send/envelope.ts).
    expect(copies.map((m) => m.rcptTo).sort()).toEqual([['ada@dest.test'], ['bob@dest.test']]);
    for (const m of copies) expect(m.mailFrom).toMatch(new RegExp(`^bounce\\+${queued.id}-[0-9a-f]{16}@cli-send\\.test$`));
    expect(copies[0]!.raw.equals(copies[1]!.raw)).toBe(true);
    const got = copies[0];
    const verified = await dkimVerify(got!.raw, { resolver: staticResolver([dkimRecord]) });
    expect(verified.results.map((r) => r.status.result)).toEqual(['pass']);
    const parsed = await simpleParser(got!.raw);
    expect(parsed.subject).toBe('From the CLI');
    expect(parsed.text).toBe('Hello from the command line.\n');
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(attachment)])).toEqual([['report.bin', true]]);
    expect(mx.mails).toHaveLength(2);
  });

  it('fails with exit code 1 and names the problem: a file it cannot read, a field the API refuses', async () => {
    await expect(cli('send', '--email', 'owner@example.org', '--from', 'hello@cli-send.test', '--to', 'ada@dest.test', '--subject', 's', '--attach', join(dir, 'missing.pdf'))).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`--attach ${join(dir, 'missing.pdf')}: ENOENT`),
    });
    await expect(cli('send', '--email', 'owner@example.org', '--from', 'hello@cli-send.test', '--to', 'not an address', '--subject', 's', '--text', 't')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/POST \/v1\/send: 400 to\[0\]: not an email address/),
    });
  });
});
