import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgBinDir } from '../helpers/pg-cluster.js';
import { accepts, freePorts, readmeBlocks, ROOT, shell, SLOW, stop, waitFor, type Shell } from '../helpers/shell.js';

// Runs README's "Two nodes on one machine" as written, in bash: PostgreSQL (as the `postgres` user
// when we are root: PostgreSQL refuses root, and the README says to run it as yourself), then
// terminal 2 (s3rver, DNS server, receiver), nodes A and B, then the fifth terminal's blocks, with
// node A stopped (SIGTERM, as Ctrl-C) between them. Ports are rewritten to free ones and the
// README's relative folders and files to a temporary directory.
const README_PORTS = [5432, 4568, 5300, 4000, 2525, 2526, 3000, 3001] as const;
const FILES = /(?:\.\/)?\b(pgdata|s3data|zone\.json|nodes\.env|node-a|node-b)\b/g;
const isRoot = () => process.getuid?.() === 0;

describe('README: two nodes on one machine, run for real', () => {
  const blocks = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), '### Two nodes on one machine');
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let ports: Map<number, number>;
  let infra: Shell | undefined;
  let nodeA: Shell | undefined;
  let nodeB: Shell | undefined;
  let pgStarted = false;

  const rewrite = (block: string) => {
    let out = block.replace(FILES, (_, f: string) => join(dir, f));
    for (const [from, to] of ports) out = out.replace(new RegExp(`\\b${from}\\b`, 'g'), String(to));
    return out;
  };
  /** The receiver's lines: `webhook <webhook-id> <subject>`. */
  const webhooks = () => [...infra!.stdout().matchAll(/^webhook (\S+) (.*)$/gm)].map((m) => ({ id: m[1]!, subject: m[2]! }));

  async function run(block: string): Promise<string> {
    const sh = shell(`set -e\n${rewrite(block)}`, env);
    const timer = setTimeout(() => void stop(sh), SLOW);
    const code = await sh.exited;
    clearTimeout(timer);
    expect(code, sh.all()).toBe(0);
    return sh.stdout();
  }

  beforeAll(async () => {
    execFileSync('bash', ['-c', 'command -v swaks && command -v curl'], { stdio: 'ignore' });
    expect(blocks, 'six sh blocks: PostgreSQL, terminal 2, node A, node B, the fifth terminal twice').toHaveLength(6);
    for (const p of README_PORTS) expect(blocks.join('\n'), `the section uses port ${p}`).toMatch(new RegExp(`\\b${p}\\b`));
    dir = mkdtempSync(join(tmpdir(), 'mailhook-readme-nodes-'));
    const free = await freePorts(README_PORTS.length);
    ports = new Map(README_PORTS.map((p, i) => [p, free[i]!]));
    const basics = Object.entries(process.env).filter(([k]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(k));
    env = Object.fromEntries(basics);

    // Terminal 1: PostgreSQL, as a user who may run it.
    const pgBlock = rewrite(blocks[0]!);
    if (isRoot()) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    const cmd = isRoot() ? ['runuser', '-u', 'postgres', '--', 'bash', '-c', `set -e\n${pgBlock}`] : ['bash', '-c', `set -e\n${pgBlock}`];
    const pgRun = spawnSync(cmd[0]!, cmd.slice(1), { cwd: dir, env, encoding: 'utf8', timeout: SLOW });
    pgStarted = true;
    expect(pgRun.status, `${pgRun.stdout}\n${pgRun.stderr}`).toBe(0);

    infra = shell(rewrite(blocks[1]!), env);
    await waitFor('the receiver', infra, () => accepts(ports.get(4000)!));
    await waitFor('s3rver', infra, () => accepts(ports.get(4568)!));
    await waitFor('the DNS server', infra, () => infra!.stdout().includes(`answering on 127.0.0.1:${ports.get(5300)}`));
    nodeA = shell(rewrite(blocks[2]!), env);
    nodeB = shell(rewrite(blocks[3]!), env);
    await waitFor('node A', nodeA, () => nodeA!.all().includes('"mailhook started"'));
    await waitFor('node B', nodeB, () => nodeB!.all().includes('"mailhook started"'));
  }, SLOW * 3);

  afterAll(async () => {
    await Promise.all([stop(nodeA), stop(nodeB)]);
    await stop(infra);
    if (pgStarted) {
      const pgCtl = [join(pgBinDir(), 'pg_ctl'), '-D', join(dir, 'pgdata'), 'stop', '-m', 'immediate'];
      spawnSync(isRoot() ? 'runuser' : pgCtl[0]!, isRoot() ? ['-u', 'postgres', '--', ...pgCtl] : pgCtl.slice(1), { stdio: 'ignore' });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('mail sent to either node is posted once; with node A stopped, node B takes the mail and delivers it', { timeout: SLOW * 3 }, async () => {
    const first = await run(blocks[4]!);
    expect(first.match(/queued as msg_/g), first).toHaveLength(4);
    await waitFor('four webhooks', infra!, () => webhooks().length >= 4, 60_000);
    const subjects = webhooks().map((w) => w.subject).sort();
    expect(subjects).toEqual([...Array(2).fill(`via port ${ports.get(2525)}`), ...Array(2).fill(`via port ${ports.get(2526)}`)].sort());
    expect(new Set(webhooks().map((w) => w.id)).size).toBe(4);

    await stop(nodeA);
    const second = await run(blocks[5]!);
    expect(second).toContain('node A is down');
    expect(second.match(/queued as msg_/g), second).toHaveLength(3);
    await waitFor('seven webhooks', infra!, () => webhooks().length >= 7, 60_000);
    const listed = [...second.matchAll(/^(dlv_\S+) (\w+)$/gm)].map((m) => m[1]!);
    expect(listed).toHaveLength(7);
    // Each delivery posted once, and every posted id is one the API lists.
    expect(webhooks()).toHaveLength(7);
    expect(new Set(webhooks().map((w) => w.id))).toEqual(new Set(listed));
    expect(webhooks().filter((w) => w.subject.startsWith('while A is down'))).toHaveLength(3);
  });
});
