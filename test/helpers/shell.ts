import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Running README blocks in bash as a newcomer would (test/deploy/readme-*.test.ts). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SLOW = 180_000; // 2 busy cores: npm, npx and tsx each take seconds to start

/**
 * The ```sh blocks of the README section under `heading` (e.g. "## Five-minute walkthrough"),
 * up to the next heading of the same or a higher level.
 */
export function readmeBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const level = /^#+/.exec(heading)![0].length;
  // From ## on: a `# comment` line inside a block is not a heading.
  const next = new RegExp(`\\n#{2,${level}} `, 'g');
  next.lastIndex = start + 1;
  const end = next.exec(markdown)?.index;
  const section = markdown.slice(start, end);
  return [...section.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** A port free for TCP on every interface and for UDP on 127.0.0.1 (the DNS server needs both). */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  while (ports.length < n) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    held.push(server);
    const port = (server.address() as { port: number }).port;
    const udp = createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (udpFree) udp.close();
    if (udpFree && !ports.includes(port)) ports.push(port);
  }
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface Shell {
  child: ChildProcess;
  stdout: () => string;
  all: () => string;
  exited: Promise<number | null>;
}

/** `bash -c script` in its own process group, so stop() reaches everything it started. */
export function shell(script: string, env: NodeJS.ProcessEnv, cwd = ROOT): Shell {
  const child = spawn('bash', ['-c', script], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let all = '';
  child.stdout!.on('data', (d: Buffer) => ((stdout += d), (all += d)));
  child.stderr!.on('data', (d: Buffer) => (all += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, all: () => all, exited };
}

export const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function stop(sh: Shell | undefined): Promise<void> {
  const pid = sh?.child.pid;
  if (!pid || !groupAlive(pid)) return;
  process.kill(-pid, 'SIGTERM');
  for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
}

export async function waitFor(what: string, sh: Shell, ready: () => boolean | Promise<boolean>, timeoutMs = SLOW): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (sh.child.exitCode !== null) throw new Error(`${what}: the shell exited with ${sh.child.exitCode}:\n${sh.all()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s:\n${sh.all()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

