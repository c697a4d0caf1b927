import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import type { ReceiveHooks } from '../../src/smtp/receive-message.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * Shared by the hostile suite: a real SMTP server on port 0 over fresh deps, a raw socket
 * client that controls every byte and its timing, and the "still serving" check every attack
 * ends with.
 */

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const countRows = (deps: TestDeps, table: string) =>
  (deps.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

export const subjects = (deps: TestDeps) =>
  (deps.db.prepare('SELECT subject FROM messages ORDER BY id').all() as { subject: string }[]).map((r) => r.subject);

/** Every object under DATA_DIR/blobs (relative paths). */
export function blobFiles(deps: TestDeps): string[] {
  const root = join(deps.config.dataDir, 'blobs');
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(root.length + 1));
}

export { addRoute };

export interface HostileSmtp {
  deps: TestDeps;
  smtp: RunningSmtp;
  port: number;
  owner: { userId: string; domainId: string };
  close(): Promise<void>;
}

/** example.com verified, one `store` route for `match` (default every address), SMTP on port 0. */
export async function hostileSmtp(
  env: Record<string, string> = {},
  opts: { match?: string; hooks?: ReceiveHooks } = {},
): Promise<HostileSmtp> {
  const deps = testDeps(env);
  const { user, domain } = await seedUserAndDomain(deps, 'example.com');
  const owner = { userId: user.id, domainId: domain.id };
  await addRoute(deps, owner, { match: opts.match ?? '*@example.com' });
  const smtp = await startSmtp(deps, opts.hooks);
  return {
    deps,
    smtp,
    port: smtp.port,
    owner,
    async close() {
      destroyClients();
      await smtp.close();
      await deps.cleanup();
    },
  };
}

/** The check that ends every attack: a well-behaved sender on a new connection still gets its 250. */
export async function stillServes(h: { smtp: RunningSmtp; deps: TestDeps }, subject = 'after the attack'): Promise<string> {
  const info = await h.smtp.transport.sendMail({ from: 'ok@sender.test', to: 'after@example.com', subject, text: 'normal mail' });
  expect(info.response).toMatch(/^250 .*msg_/);
  const id = /msg_\w+/.exec(info.response ?? '')![0];
  expect((await h.deps.repos.messages.getById(id))?.parsed.subject).toBe(subject);
  return id;
}

/**
 * A raw SMTP client: every byte and its timing is the test's. Replies are collected as lines;
 * `closed` resolves when the server hangs up.
 */
const live = new Set<RawClient>();

/** Hangs up every raw client still open (a failed assertion leaves them behind; server.close() would wait 30 s). */
export function destroyClients(): void {
  for (const c of live) c.destroy();
  live.clear();
}

export class RawClient {
  readonly socket: net.Socket;
  lines: string[] = [];
  private buf = '';
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    live.add(this);
    this.socket.on('data', (d) => {
      this.buf += d.toString('latin1');
      const parts = this.buf.split('\r\n');
      this.buf = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        live.delete(this);
        for (const w of this.waiters.splice(0)) w();
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<RawClient> {
    const c = new RawClient(port);
    await c.until(/^220 /);
    return c;
  }

  /** Resolves with the first reply line (at or after `from`) matching `re`; rejects on timeout or close. */
  until(re: RegExp, timeoutMs = 5000, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply matching ${re} after ${timeoutMs} ms; got ${JSON.stringify(this.lines)}`)), timeoutMs);
      const check = () => {
        const hit = this.lines.slice(from).find((l) => re.test(l));
        if (hit !== undefined) {
          clearTimeout(timer);
          return resolve(hit);
        }
        if (this.isClosed) {
          clearTimeout(timer);
          return reject(new Error(`closed before a reply matching ${re}; got ${JSON.stringify(this.lines)}`));
        }
        this.waiters.push(check);
      };
      check();
    });
  }

  /** Sends `data` and resolves with the next reply line (a final one: `ddd `). */
  async send(data: string | Buffer, timeoutMs = 5000): Promise<string> {
    const from = this.lines.length;
    this.write(data);
    return this.until(/^\d{3} /, timeoutMs, from);
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  codes(): number[] {
    return this.lines.filter((l) => /^\d{3} /.test(l)).map((l) => Number(l.slice(0, 3)));
  }

  /** Waits until the server closes, or `ms` passes; true when it closed. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const closed = await Promise.race([this.closed.then(() => true), t]);
    clearTimeout(timer);
    return closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** EHLO, MAIL, RCPT, DATA on a fresh client: ready for the message bytes. */
export async function openData(port: number, rcpt = 'x@example.com'): Promise<RawClient> {
  const c = await RawClient.open(port);
  expect(await c.send('EHLO client.test\r\n')).toMatch(/^250 /);
  expect(await c.send('MAIL FROM:<a@sender.test>\r\n')).toMatch(/^250 /);
  expect(await c.send(`RCPT TO:<${rcpt}>\r\n`)).toMatch(/^250 /);
  expect(await c.send('DATA\r\n')).toMatch(/^354 /);
  return c;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `raw` sent from alice@sender.test to x@example.com over `smtp`'s client: the reply's code and text (never rejects), and when it came. */
export const sendTimed = (smtp: RunningSmtp, raw: string) =>
  smtp.transport.sendMail({ envelope: { from: 'alice@sender.test', to: ['x@example.com'] }, raw }).then(
    (info) => ({ code: Number(info.response?.slice(0, 3)), response: info.response ?? '', at: performance.now() }),
    (err: { responseCode?: number; response?: string }) => ({ code: err.responseCode ?? 0, response: err.response ?? String(err), at: performance.now() }),
  );
