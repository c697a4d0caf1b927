import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts, freePorts, readmeBlocks, ROOT, shell, SLOW, stop, waitFor, type Shell } from '../helpers/shell.js';

// Runs README's "Five-minute walkthrough" as written, in bash, as a newcomer would: terminal 1
// (DNS server + Mailhook) and terminal 2 (receiver) as background processes, then terminal 3.
// Only the port numbers are rewritten to free ones (Mailhook's own through HTTP_PORT and
// SMTP_PORT, since the README relies on the defaults), DATA_DIR and zone.json go to a temp dir.
const README_PORTS = [3000, 2525, 4000, 5300] as const;
/** The second SMTP server of "Walkthrough: send with DKIM to a local mail server". */
const SEND_MX_PORT = 2526;

/** Every top-level JSON object in `text` (curl answers end without a newline, so they run together). */
function jsonObjects(text: string): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (let i = text.indexOf('{'); i >= 0; i = text.indexOf('{', i + 1)) {
    let depth = 0;
    let inString = false;
    for (let j = i; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try {
          found.push(JSON.parse(text.slice(i, j + 1)) as Record<string, unknown>);
          i = j;
        } catch {
          // not JSON after all (swaks' transcript); go on from the next brace
        }
        break;
      }
    }
  }
  return found;
}

describe('README five-minute walkthrough, run for real', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = readmeBlocks(readme, '## Five-minute walkthrough');
  // What the newcomer's third terminal holds after the walkthrough, for the sending walkthrough.
  let state: { token: string; dom: string } | undefined;
  let mx: Shell | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let ports: Map<number, number>;
  let terminal1: Shell | undefined;
  let receiver: Shell | undefined;

  const rewrite = (block: string) => {
    let out = block.replace(/\bzone\.json\b/g, join(dir, 'zone.json'));
    for (const [from, to] of ports) out = out.replace(new RegExp(`\\b${from}\\b`, 'g'), String(to));
    return out;
  };

  beforeAll(async () => {
    try {
      execFileSync('bash', ['-c', 'command -v swaks'], { stdio: 'ignore' });
    } catch {
      throw new Error('swaks is not installed: the walkthrough sends its mail with it (npm run test:setup installs it)');
    }
    expect(blocks, 'three sh blocks: terminal 1, the receiver, terminal 3').toHaveLength(3);
    for (const p of README_PORTS) expect(blocks.join('\n'), `the walkthrough uses port ${p}`).toMatch(new RegExp(`\\b${p}\\b`));
    dir = mkdtempSync(join(tmpdir(), 'mailhook-readme-'));
    const free = await freePorts(README_PORTS.length + 1);
    ports = new Map([...README_PORTS, SEND_MX_PORT].map((p, i) => [p, free[i]!]));
    // A newcomer's shell: nothing from this test run's environment but the basics.
    const basics = Object.entries(process.env).filter(([k]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(k));
    env = { ...Object.fromEntries(basics), DATA_DIR: join(dir, 'data'), HTTP_PORT: String(ports.get(3000)), SMTP_PORT: String(ports.get(2525)) };
    terminal1 = shell(rewrite(blocks[0]!), env);
    receiver = shell(rewrite(blocks[1]!), env);
    await waitFor('the DNS server', terminal1, () => terminal1!.stdout().includes(`answering on 127.0.0.1:${ports.get(5300)}`));
    await waitFor('Mailhook', terminal1, () => terminal1!.all().includes('"mailhook started"'));
    await waitFor('the receiver', receiver, () => accepts(ports.get(4000)!));
  }, SLOW * 2);

  afterAll(async () => {
    await Promise.all([stop(terminal1), stop(receiver), stop(mx)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('verifies the domain through DNS, and swaks mail reaches the receiver as a signed webhook', { timeout: SLOW * 2 }, async () => {
    const third = blocks[2]!;
    expect(third, 'the domain is verified through the API, not the admin CLI').not.toMatch(/--force|mailhook domain verify/);
    expect(third).toMatch(/-X POST localhost:3000\/api\/domains\/\$DOM\/verify/);

    // The shell variables the sending walkthrough goes on with (printed by the test, not the README).
    const run = shell(`set -e\n${rewrite(third)}\nprintf '\\nSTATE %s %s\\n' "$TOKEN" "$DOM"`, env);
    const timer = setTimeout(() => void stop(run), SLOW);
    const code = await run.exited;
    clearTimeout(timer);
    expect(code, run.all()).toBe(0);
    expect(run.stdout()).toMatch(/250 2\.6\.0 Ok: queued as msg_/);

    const answers = jsonObjects(run.stdout().split('=== Trying')[0]!);
    const domain = answers.find((o) => o.name === 'example.com') as
      | { status: string; last_check: { ok: boolean; records: { type: string; purpose?: string; ok: boolean; found: string[] }[] } | null }
      | undefined;
    expect(domain, run.stdout()).toBeDefined();
    expect(domain!.status).toBe('verified');
    expect(domain!.last_check?.ok).toBe(true);
    // zone.json is the whole answer of POST /api/domains: the sending records (DKIM, SPF) are published too.
    expect(domain!.last_check!.records.map((r) => [r.purpose, r.type, r.ok, r.found.length])).toEqual([
      ['ownership', 'TXT', true, 1],
      ['mx', 'MX', true, 1],
      ['dkim', 'TXT', true, 1],
      ['spf', 'TXT', true, 1],
    ]);
    // ...and the answers came from the DNS server of terminal 1.
    expect(terminal1!.stdout()).toContain('TXT _mailhook.example.com → 1 record');
    expect(terminal1!.stdout()).toContain('MX example.com → 1 record');

    const route = answers.find((o) => o.match === '*@example.com') as { secret: string } | undefined;
    expect(route?.secret, run.stdout()).toMatch(/^whsec_/);

    // The receiver prints console.log(headers, body): util.inspect of the headers, then the raw body.
    await waitFor('the webhook', receiver!, () => /^\} \{/m.test(receiver!.stdout()), 60_000);
    const printed = receiver!.stdout();
    const body = /^\} (\{.*)$/m.exec(printed)![1]!;
    const headers = Object.fromEntries([...printed.matchAll(/^\s+'?([a-z0-9-]+)'?: '([^']*)',?$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(headers).toHaveProperty('webhook-id');
    const event = new Webhook(route!.secret).verify(body, headers) as { type: string; data: { subject: string; text: string } };
    expect(event.type).toBe('email.received');
    expect(event.data.subject).toBe('Hello Mailhook');
    expect(event.data.text).toContain('It works');
    const [, token, dom] = /^STATE (\S+) (\S+)$/m.exec(run.stdout())!;
    state = { token: token!, dom: dom! };
  });

  it('sends with DKIM: the second SMTP server sees dkim=pass, the receiver a signed email.sent', { timeout: SLOW * 2 }, async () => {
    expect(state, 'the five-minute walkthrough ran first').toBeDefined();
    const sendBlocks = readmeBlocks(readme, '### Walkthrough: send with DKIM to a local mail server');
    const [mxBlock, sendBlock] = sendBlocks;
    expect(sendBlocks, 'two sh blocks: the second SMTP server, the third terminal').toHaveLength(2);
    const restart = /`(DNS_SERVERS=\S+ ALLOW_INSECURE_WEBHOOKS=true OUTBOUND_SMTP_PORT=\d+ npm start)`/.exec(readme)?.[1];
    expect(restart, 'the restart command of the first terminal').toBeDefined();

    mx = shell(rewrite(mxBlock!), env);
    await waitFor('the second SMTP server', mx, () => accepts(ports.get(SEND_MX_PORT)!));
    // "Restart Mailhook in the first terminal": its DNS server (started with &) keeps running there.
    await stop(terminal1);
    terminal1 = shell(`${rewrite(blocks[0]!.split('\n')[0]!)}\n${rewrite(restart!)}`, env);
    await waitFor('Mailhook, restarted', terminal1, () => terminal1!.all().includes('"mailhook started"'));
    await waitFor('the DNS server, restarted', terminal1, () => terminal1!.stdout().includes(`answering on 127.0.0.1:${ports.get(5300)}`));

    const preamble = `H='content-type: application/json'\nA="authorization: Bearer ${state!.token}"\nDOM=${state!.dom}`;
    const run = shell(`set -e\n${preamble}\n${rewrite(sendBlock!)}`, env);
    const code = await run.exited;
    expect(code, run.all()).toBe(0);
    const answers = jsonObjects(run.stdout());
    expect(answers.find((o) => o.name === 'example.com'), run.stdout()).toMatchObject({ can_send: true });
    const hook = answers.find((o) => typeof o.secret === 'string' && o.url !== undefined) as { secret: string } | undefined;
    expect(hook?.secret, run.stdout()).toMatch(/^whsec_/);
    const queued = answers.find((o) => o.status === 'queued') as { id: string } | undefined;
    expect(queued?.id, run.stdout()).toMatch(/^snd_/);

    await waitFor('the message at the second SMTP server', mx, () => mx!.stdout().includes('dkim='), 60_000);
    expect(mx.stdout()).toMatch(new RegExp(`bounce\\+${queued!.id}-[0-9a-f]{16}@example\\.com dkim=pass`));
    await waitFor('the email.sent event', receiver!, () => receiver!.stdout().includes('"email.sent"'), 60_000);
    const printed = receiver!.stdout().slice(receiver!.stdout().lastIndexOf('\n{'));
    const body = /^\} (\{.*"email\.sent".*)$/m.exec(printed)![1]!;
    const headers = Object.fromEntries([...printed.matchAll(/^\s+'?([a-z0-9-]+)'?: '([^']*)',?$/gm)].map((m) => [m[1]!, m[2]!]));
    const event = new Webhook(hook!.secret).verify(body, headers) as { type: string; data: { send_id: string; recipient: string; smtp: { code: number } } };
    expect(event).toMatchObject({ type: 'email.sent', data: { send_id: queued!.id, recipient: 'ada@inbox.test', smtp: { code: 250 } } });
  });
});
