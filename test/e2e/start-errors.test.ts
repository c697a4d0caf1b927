import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * DESIGN §8: a bad setting stops start-up with a message naming the variable. What a user meets
 * first: a port another process holds (a second `npm start`), a host that is not this machine's,
 * a DNS_SERVERS typo. The real process, its exit code and the one line it prints.
 */
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

let dir: string;
let busy: Server;
let busyPort: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailhook-start-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, DATA_DIR: join(dir, String(++n)), SMTP_PORT: '0', HTTP_PORT: '0', SMTP_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // A process that started (the bug) is stopped, and the test fails on its exit code.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('start-up refusals name the variable', () => {
  it.each([
    ['SMTP_PORT in use', () => ({ SMTP_PORT: String(busyPort) }), /^mailhook: cannot listen on SMTP_HOST:SMTP_PORT 127\.0\.0\.1:\d+: the port is in use by another process: stop it or set another SMTP_PORT$/m],
    ['HTTP_PORT in use', () => ({ HTTP_PORT: String(busyPort) }), /^mailhook: cannot listen on HTTP_HOST:HTTP_PORT 127\.0\.0\.1:\d+: the port is in use .*set another HTTP_PORT$/m],
    ['METRICS_PORT in use', () => ({ METRICS_PORT: String(busyPort), METRICS_HOST: '127.0.0.1' }), /^mailhook: cannot listen on METRICS_HOST:METRICS_PORT 127\.0\.0\.1:\d+: the port is in use .*set another METRICS_PORT$/m],
    ['HTTP_HOST not this machine', () => ({ HTTP_HOST: '192.0.2.1' }), /^mailhook: cannot listen on HTTP_HOST:HTTP_PORT 192\.0\.2\.1:0: HTTP_HOST is not an address of this machine/m],
    ['SMTP_HOST unresolvable', () => ({ SMTP_HOST: 'no-such-host.invalid' }), /^mailhook: cannot listen on SMTP_HOST:SMTP_PORT no-such-host\.invalid:0: SMTP_HOST is not an address of this machine/m],
    ['DNS_SERVERS not an IP', () => ({ DNS_SERVERS: 'abc' }), /^mailhook: configuration error: DNS_SERVERS must list IP addresses/m],
  ])('%s', { timeout: 30_000 }, async (_name, env, message) => {
    const { code, stderr } = await start(env());
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
    // The line says it all: no stack trace of the failed listen.
    expect(stderr).not.toMatch(/failed to start|^\s+at /m);
  });
});
