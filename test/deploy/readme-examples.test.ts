import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts, freePorts, readmeBlocks, ROOT, shell, SLOW, stop, waitFor, type Shell } from '../helpers/shell.js';

// Runs README's "### Examples" block (API section) top to bottom, in bash, against `npm start` on
// a fresh DATA_DIR, as a reader pasting it would. Every curl's status is recorded in order; a
// command whose own text has no `…` placeholder must answer the status its comment starts with,
// and none may be 401 (a credential ended by an earlier line) or 5xx.
const README_PORT = 3000;

/** The block cut at each `curl `: the command (comments removed) and the status its comment names. */
function curls(block: string): { command: string; expected: number | null }[] {
  const starts = [...block.matchAll(/\bcurl /g)].map((m) => m.index);
  return starts.map((at, i) => {
    const segment = block.slice(at, starts[i + 1] ?? block.length);
    // The first end-of-line comment after the command (a `# heading` line starts at column 0).
    const comment = / {2,}# (.*)$/m.exec(segment)?.[1] ?? '';
    const command = segment.replace(/ {2,}#.*$/gm, '').replace(/^#.*$/gm, '');
    const expected = /^(\d{3})\b/.exec(comment)?.[1];
    return { command: command.trim(), expected: expected ? Number(expected) : null };
  });
}

describe('README API examples, run for real', () => {
  const block = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), '### Examples')[0]!;
  let dir: string;
  let port: number;
  let server: Shell | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    expect(block, 'the examples talk to the default HTTP port').toMatch(new RegExp(`localhost:${README_PORT}\\b`));
    dir = mkdtempSync(join(tmpdir(), 'mailhook-readme-examples-'));
    const [http, smtp, dns] = await freePorts(3);
    port = http!;
    const basics = Object.entries(process.env).filter(([k]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(k));
    // A DNS server on loopback with no records: verification looks up nothing outside this machine.
    env = { ...Object.fromEntries(basics), DATA_DIR: join(dir, 'data'), HTTP_PORT: String(http), SMTP_PORT: String(smtp), DNS_SERVERS: `127.0.0.1:${dns}` };
    server = shell(`npx mailhook dns serve --port ${dns} --zone ${join(dir, 'none.json')} &\nnpm start`, env);
    await waitFor('Mailhook', server, () => server!.all().includes('"mailhook started"'));
    await waitFor('the HTTP port', server, () => accepts(port));
  }, SLOW * 2);

  afterAll(async () => {
    await stop(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('every command answers what its comment says, and none is refused for an ended session', { timeout: SLOW }, async () => {
    const expected = curls(block);
    expect(expected.length, 'the block has its curl commands').toBeGreaterThan(30);
    const codes = join(dir, 'codes.txt');
    // Each curl also writes its status to fd 3, one line per call, in the order they run.
    const script = [
      `exec 3>${codes}`,
      `curl() { command curl -w '%{stderr}%{http_code}\\n' "$@" 2>&3; }`,
      block.replace(new RegExp(`localhost:${README_PORT}\\b`, 'g'), `localhost:${port}`),
    ].join('\n');
    const run = shell(script, env, dir);
    const timer = setTimeout(() => void stop(run), SLOW);
    const code = await run.exited;
    clearTimeout(timer);
    expect(code, run.all()).toBe(0);
    const got = readFileSync(codes, 'utf8').trim().split('\n').map(Number);
    expect(got, run.all()).toHaveLength(expected.length);
    const rows = expected.map((e, i) => ({ command: e.command.split('\n')[0], status: got[i], expected: e.expected, placeholder: e.command.includes('…') }));
    for (const row of rows) {
      expect(row.status, row.command).not.toBe(401);
      expect(row.status, row.command).toBeLessThan(500);
      if (!row.placeholder && row.expected !== null) expect(row.status, row.command).toBe(row.expected);
    }
    // The last line ends the session it used, and says so.
    expect(rows.at(-1)).toMatchObject({ status: 204 });
    expect(rows.at(-1)!.command).toMatch(/auth\/logout/);
  });
});
