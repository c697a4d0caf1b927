import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, testApi, type TestApi } from '../helpers/api.js';

const BIN = fileURLToPath(new URL('../../bin/mailhook.js', import.meta.url));

describe('mailhook dns serve', () => {
  let dir: string;
  let zone: string;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let address: string;
  let api: TestApi;

  const until = async (what: string, done: () => boolean) => {
    for (const deadline = Date.now() + 60_000; !done(); await new Promise((r) => setTimeout(r, 100))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what}:\n${stdout}${stderr}`);
    }
  };
  // A new resolver per question, so that no answer comes from c-ares' cache.
  const resolver = () => {
    const r = new Resolver({ timeout: 2000, tries: 2 });
    r.setServers([address]);
    return r;
  };
  const txt = (name: string) => resolver().resolveTxt(name).then((r) => r.map((chunks) => chunks.join('')));
  const mx = (name: string) => resolver().resolveMx(name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-dns-'));
    zone = join(dir, 'zone.json');
    // --port 0: a free port; the listening line says which.
    child = spawn(process.execPath, [BIN, 'dns', 'serve', '--port', '0', '--zone', zone], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    await until('no listening line', () => /answering on 127\.0\.0\.1:\d+/.test(stdout));
    address = /answering on (127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    api = testApi({ DNS_SERVERS: address });
  }, 90_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await api?.deps.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from the zone file the API gave, re-read when it changes', { timeout: 60_000 }, async () => {
    // No file yet: no records, every name NXDOMAIN.
    await expect(txt('_mailhook.zone.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });

    // The exact bytes POST /api/domains answered.
    const { token } = await signup(api);
    const added = await api.call('POST', '/api/domains', { token, body: { name: 'zone.test' } });
    expect(added.status).toBe(201);
    writeFileSync(zone, added.text);
    const [mxRecord, txtRecord] = added.body.records as { name: string; value: string }[];
    expect(await txt('_mailhook.zone.test')).toEqual([txtRecord!.value]);
    expect(await mx('zone.test')).toEqual([{ exchange: 'mx.mailhook.test', priority: 10 }]);
    // The sending records are in the answer too: SPF at the domain itself.
    expect(await txt('zone.test')).toEqual(['v=spf1 a:mx.mailhook.test ~all']);
    await expect(mx('_mailhook.zone.test')).rejects.toMatchObject({ code: 'ENODATA' });
    expect(mxRecord!.value).toBe('mx.mailhook.test');

    // ...which is what verification looks up.
    const verified = await api.call('POST', `/api/domains/${added.body.id}/verify`, { token });
    expect(verified.body).toMatchObject({ status: 'verified', last_check: { ok: true } });

    // A bare array replaces it: the new TXT is served, the MX is gone.
    writeFileSync(zone, JSON.stringify([{ type: 'TXT', name: '_mailhook.zone.test', value: 'mailhook-verification=changed' }]));
    expect(await txt('_mailhook.zone.test')).toEqual(['mailhook-verification=changed']);
    await expect(mx('zone.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });

    // GET /api/domains/:id's answer is accepted too; a long TXT value is split into 255-byte strings.
    const got = await api.call('GET', `/api/domains/${added.body.id}`, { token });
    writeFileSync(zone, JSON.stringify({ ...got.body, records: [...got.body.records, { type: 'TXT', name: 'long.zone.test', value: 'x'.repeat(600) }] }));
    expect(await txt('_mailhook.zone.test')).toEqual([txtRecord!.value]);
    expect((await resolver().resolveTxt('long.zone.test'))[0]!.map((s) => s.length)).toEqual([255, 255, 90]);

    // An API error saved by mistake: no records, and one warning that says so.
    writeFileSync(zone, '{"error":"invalid credentials"}');
    await expect(txt('_mailhook.zone.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(txt('_mailhook.zone.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(stderr.match(/it holds an error: invalid credentials/g)).toHaveLength(1);

    expect(stdout).toContain('mailhook dns: TXT _mailhook.zone.test → 1 record');
    expect(stdout).toContain('mailhook dns: MX zone.test → NXDOMAIN (no such name)');

    child.kill('SIGTERM');
    expect(await new Promise((r) => child.once('exit', (code) => r(code)))).toBe(0);
  });

  it('explains a missing --zone, a bad --port or an unknown dns command', { timeout: 60_000 }, async () => {
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, 'dns', ...args]);
    await expect(cli('serve')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('missing --zone') });
    await expect(cli('serve', '--zone', zone, '--port', '99999')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--port must be a port number'),
    });
    await expect(cli('resolve')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('mailhook dns serve --zone FILE') });
  });

  it('refuses a port in use, with exit code 1 and the reason', { timeout: 60_000 }, async () => {
    const held: Socket = createSocket('udp4');
    await new Promise<void>((resolve) => held.bind(0, '127.0.0.1', resolve));
    try {
      const port = String(held.address().port);
      await expect(promisify(execFile)(process.execPath, [BIN, 'dns', 'serve', '--port', port, '--zone', zone])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(`cannot listen on 127.0.0.1:${port} (EADDRINUSE)`),
      });
    } finally {
      held.close();
    }
  });
});
