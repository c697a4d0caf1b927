import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeps } from '../../src/deps.js';
import type { BlobStore } from '../../src/store/blob-store.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { blobFiles, countRows, hostileSmtp, sleep, stillServes, type HostileSmtp } from './harness.js';

/**
 * Faults during DATA (DESIGN §1 invariants 1 and 5): a storage failure of any kind is 451 with
 * nothing half-written, one message's failure never touches another session, and a crash
 * loses nothing that got a 250 and leaves nothing behind that the next start does not clean.
 */
const parseFaults = vi.hoisted(() => ({ marker: 'X-Test-Parser: explode' }));
vi.mock('../../src/parse/parse-message.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/parse/parse-message.js')>();
  return {
    ...actual,
    // Reads the message first (test only) so that only the marked one throws.
    async parseMessage(raw: Readable, put: Parameters<typeof actual.parseMessage>[1]) {
      const chunks: Buffer[] = [];
      for await (const c of raw) chunks.push(c as Buffer);
      const buf = Buffer.concat(chunks);
      if (buf.includes(parseFaults.marker)) throw new TypeError('parser bug: cannot read properties of undefined');
      return actual.parseMessage(Readable.from([buf]), put);
    },
  };
});

let h: HostileSmtp;
afterEach(async () => h?.close());

const message = (n: number) => ({
  from: 'a@sender.test',
  to: 'x@example.com',
  subject: `fault ${n}`,
  text: 'hello',
  attachments: [
    { filename: 'one.bin', content: Buffer.alloc(30_000, 1) },
    { filename: 'two.bin', content: Buffer.alloc(30_000, 2) },
  ],
});

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
}

/** The real store, whose body streams fail with ENOSPC after `after` bytes for keys matching `which`. */
function diskFullFor(real: BlobStore, which: RegExp, after: number): BlobStore {
  return {
    kind: real.kind,
    get: (k) => real.get(k),
    delete: (k) => real.delete(k),
    check: () => real.check(),
    presign: (k, o) => real.presign(k, o),
    put: (key, body) => {
      if (!which.test(key)) return real.put(key, body);
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      // Fails as the store pulls bytes, like a write() that hits a full disk.
      const failing = Readable.from(
        (async function* () {
          let seen = 0;
          for await (const chunk of source) {
            seen += (chunk as Buffer).length;
            if (seen > after) throw enospc();
            yield chunk as Buffer;
          }
        })(),
      );
      return real.put(key, failing);
    },
  };
}

describe('storage faults during DATA', () => {
  it.each([
    ['the raw message', /raw\.eml$/],
    ['the first attachment', /\/0$/],
    ['the second attachment', /\/1$/],
  ])('disk full while writing %s: 451, no row, no object, no temporary file; the retry is stored', async (_name, which) => {
    // Every blob to the store (with the default INLINE_BLOB_BYTES these commit with the rows).
    h = await hostileSmtp({ INLINE_BLOB_BYTES: '0' });
    const real = h.deps.blobs;
    h.deps.blobs = diskFullFor(real, which, 1000);
    await expect(h.smtp.transport.sendMail(message(1))).rejects.toMatchObject({ responseCode: 451 });
    for (const t of ['messages', 'attachments', 'deliveries', 'message_recipients']) expect(countRows(h.deps, t)).toBe(0);
    expect(blobFiles(h.deps)).toEqual([]); // FsBlobStore's .tmp- files included
    h.deps.blobs = real;
    const info = await h.smtp.transport.sendMail(message(2));
    expect(info.response).toMatch(/^250 /);
    expect(await h.deps.repos.messages.attachments(/msg_\w+/.exec(info.response ?? '')![0])).toHaveLength(2);
  });

  it('a blob store that fails and then fails to clean up still answers 451 and stores no row', async () => {
    h = await hostileSmtp({ INLINE_BLOB_BYTES: '0' });
    const real = h.deps.blobs;
    h.deps.blobs = { ...diskFullFor(real, /raw\.eml$/, 0), delete: async () => Promise.reject(new Error('store unreachable')) };
    await expect(h.smtp.transport.sendMail(message(1))).rejects.toMatchObject({ responseCode: 451 });
    expect(countRows(h.deps, 'messages')).toBe(0);
    h.deps.blobs = real;
    await stillServes(h);
  });

  it('database locked by another writer past busy_timeout: 451, no row, no object; served once the lock goes', async () => {
    h = await hostileSmtp();
    h.deps.db.pragma('busy_timeout = 200'); // test handle only: the production default is 5 s
    const other = new Database(h.deps.db.name);
    try {
      other.prepare('BEGIN IMMEDIATE').run();
      other.prepare("INSERT INTO users (id, email, created_at) VALUES ('usr_lockholder00000000000000000', 'lock@x.test', 0)").run();
      const t = performance.now();
      await expect(h.smtp.transport.sendMail(message(1))).rejects.toMatchObject({ responseCode: 451 });
      expect(performance.now() - t).toBeLessThan(5000);
      other.prepare('ROLLBACK').run();
    } finally {
      other.close();
    }
    expect(countRows(h.deps, 'messages')).toBe(0);
    expect(blobFiles(h.deps)).toEqual([]);
    const info = await h.smtp.transport.sendMail(message(2));
    expect(info.response).toMatch(/^250 /);
  });
});

describe('one bad message never affects another session', () => {
  it('a parser exception is 451 for that message only; concurrent sessions get their 250s', async () => {
    h = await hostileSmtp();
    const bad = h.smtp.transport.sendMail({ ...message(0), headers: { 'X-Test-Parser': 'explode' } });
    const good = [1, 2, 3, 4].map((n) => h.smtp.transport.sendMail(message(n)));
    await expect(bad).rejects.toMatchObject({ responseCode: 451 });
    for (const g of good) expect((await g).response).toMatch(/^250 /);
    expect(countRows(h.deps, 'messages')).toBe(4);
    expect(countRows(h.deps, 'attachments')).toBe(8);
    await stillServes(h);
  });
});

describe('crash: the worker killed after sending, before recording', () => {
  const ENV = { ALLOW_INSECURE_WEBHOOKS: 'true', AUTH_CHECKS: 'false', LOG_LEVEL: 'info', MX_HOST: 'mx.crash.test' };
  let dir: string;
  let receiver: WebhookReceiver;
  let proc: MailhookProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-hostile-crash-'));
    receiver = await startWebhookReceiver();
    const deps = createDeps(loadConfig({ ...ENV, DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, 'crash.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: '*@crash.test',
      action: 'webhook',
      destination: receiver.url + '/hook',
      secret: newWebhookSecret(),
      priority: 1,
      stop: true,
    });
    deps.db!.close();
  });
  afterAll(async () => {
    await proc?.kill('SIGKILL');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-sends with the same webhook-id and the same body after the restart, and clears the spool', { timeout: 60_000 }, async () => {
    // The receiver takes the first request and never answers: the attempt is sent, not recorded.
    receiver.next({ hang: true });
    proc = await startMailhook({ ...ENV, DATA_DIR: dir });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: proc.smtpPort, secure: false, ignoreTLS: true });
    const info = await transport.sendMail({ from: 'a@sender.test', to: 'in@crash.test', subject: 'at least once', text: 'x' });
    transport.close();
    const msgId = /msg_\w+/.exec(info.response ?? '')![0];
    const [first] = await receiver.waitFor(1, 15_000);
    await proc.kill('SIGKILL');

    // What a crash mid-DATA leaves: a spool file nobody acknowledged.
    mkdirSync(join(dir, 'spool'), { recursive: true });
    writeFileSync(join(dir, 'spool', '1700000000000-deadbeefdeadbeef.eml'), 'Subject: never acknowledged\r\n\r\nx\r\n');

    proc = await startMailhook({ ...ENV, DATA_DIR: dir });
    const [, second] = await receiver.waitFor(2, 15_000);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.body).toBe(first!.body);
    expect((JSON.parse(second!.body) as { data: { id: string } }).data.id).toBe(msgId);
    expect(readdirSync(join(dir, 'spool'))).toEqual([]);

    await proc.kill('SIGTERM');
    proc = undefined;
    const db = new Database(join(dir, 'mailhook.db'), { readonly: true });
    try {
      const d = db.prepare('SELECT id, status, attempts FROM deliveries WHERE message_id = ?').get(msgId) as { id: string; status: string; attempts: number };
      expect(d).toMatchObject({ id: first!.headers['webhook-id'], status: 'delivered', attempts: 2 });
      const attempts = db.prepare('SELECT error, status_code FROM delivery_attempts WHERE delivery_id = ? ORDER BY id').all(d.id);
      expect(attempts).toEqual([
        { error: expect.stringMatching(/interrupted/), status_code: null },
        { error: null, status_code: 200 },
      ]);
      expect((db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
    await sleep(0);
  });
});
