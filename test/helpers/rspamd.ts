import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningRspamd {
  /** RSPAMD_URL for Mailhook. */
  url: string;
  stop(): Promise<void>;
}

/** GTUBE: rspamd answers `reject` for any message containing it. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * The Debian `rspamd` daemon on a loopback port found free at run time, in the foreground, with
 * its own minimal configuration in a temporary folder: one scanner worker, no controller, no
 * redis, no modules; DNS pointed at a closed port so nothing leaves the machine. A five-line TLD
 * list instead of the full public-suffix list cuts its start from ~30 s to ~2 s (it compiles
 * every suffix on start). GTUBE works without any module. Fails loudly when rspamd is missing.
 */
export async function startRspamd(): Promise<RunningRspamd> {
  if (spawnSync('rspamd', ['--version']).error) {
    throw new Error('rspamd is not installed: run the test set-up (apt-get install -y rspamd) before these tests');
  }
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-rspamd-'));
  writeFileSync(join(dir, 'tld.dat'), 'com\nnet\norg\ntest\nexample\n');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    writeFileSync(
      join(dir, 'rspamd.conf'),
      `options {
  pidfile = "${dir}/rspamd.pid";
  dbdir = "${dir}";
  url_tld = "${dir}/tld.dat";
  dns { nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }
}
logging { type = "console"; level = "error"; }
actions { reject = 15; add_header = 6; greylist = 4; }
worker "normal" { bind_socket = "127.0.0.1:${port}"; count = 1; mime = true; }
`,
    );
    // -i: CI runs as root; rspamd otherwise refuses to run its workers as root.
    const child = spawn('rspamd', ['-f', '-i', '-c', join(dir, 'rspamd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const up = await waitUp(url, child, 60_000);
    if (up) {
      return {
        url,
        async stop() {
          await kill(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await kill(child);
    // Someone took the port between the probe and rspamd's bind: try another.
    if (attempt >= 2) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`rspamd did not start:\n${stderr}`);
    }
  }
}

async function waitUp(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && child.exitCode === null) {
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
