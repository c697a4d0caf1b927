import { createHash } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/store/blob-store.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { codes, rawSmtp, startSmtp, type RunningSmtp } from '../helpers/smtp.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}


const countRows = (deps: TestDeps, table: string) =>
  (deps.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('SMTP receive', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let seed: Awaited<ReturnType<typeof seedUserAndDomain>>;

  beforeEach(async () => {
    deps = testDeps({ MAX_MESSAGE_BYTES: '65536', MAX_RECIPIENTS: '3' });
    seed = await seedUserAndDomain(deps, 'example.com');
    await addRoute(deps, { userId: seed.user.id, domainId: seed.domain.id }, { match: '*@example.com', action: 'store' });
    smtp = await startSmtp(deps);
  });
  afterEach(async () => {
    await smtp.close();
    deps.cleanup();
  });

  it('stores the message, its envelope and its attachments, and names the msg_ id in the 250', async () => {
    const pdf = Buffer.alloc(20_000, 7);
    const info = await smtp.transport.sendMail({
      from: 'Alice <alice@sender.test>',
      to: 'support@example.com',
      subject: 'Invoice 42',
      text: 'see attached',
      attachments: [{ filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' }],
    });
    const id = /queued as (msg_\w+)/.exec(info.response ?? '')?.[1];
    expect(info.response).toMatch(/^250 /);
    expect(id).toBeDefined();
    const msg = (await deps.repos.messages.get(seed.user.id, id!))!;
    expect(msg.envelope).toMatchObject({ mailFrom: 'alice@sender.test', rcptTo: ['support@example.com'], remoteIp: '127.0.0.1', tls: false });
    expect(msg.envelope.helo).not.toBe('');
    expect(msg.parsed.subject).toBe('Invoice 42');
    expect(msg.parsed.from).toEqual({ address: 'alice@sender.test', name: 'Alice' });
    const [att] = await deps.repos.messages.attachments(id!);
    expect(att).toMatchObject({ filename: 'invoice.pdf', contentType: 'application/pdf', size: pdf.length, sha256: sha256(pdf) });
    expect(sha256(await readAll(await deps.blobs.get(att!.blobKey)))).toBe(sha256(pdf));
    expect((await readAll(await deps.blobs.get(msg.rawKey))).toString()).toContain('Subject: Invoice 42');
  });

  it('refuses an unknown domain with 550 at RCPT and stores nothing', async () => {
    const replies = await rawSmtp(
      smtp.port,
      'EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<x@not-ours.test>\r\nQUIT\r\n',
    );
    expect(replies.find((l) => l.startsWith('550'))).toMatch(/^550 5\.1\.1 /);
    expect(countRows(deps, 'messages')).toBe(0);
  });

  it('refuses a domain that is added but not verified', async () => {
    deps.db.prepare("UPDATE domains SET status = 'pending'").run();
    await expect(smtp.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', text: 'hi' })).rejects.toMatchObject({
      responseCode: 550,
    });
  });

  it('answers 552 for an over-size message and stores nothing', async () => {
    const big = 'x'.repeat(100_000);
    await expect(smtp.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', text: big })).rejects.toMatchObject({
      responseCode: 552,
    });
    expect(countRows(deps, 'messages')).toBe(0);
  });

  it('refuses a declared SIZE over the limit at MAIL FROM', async () => {
    const replies = await rawSmtp(smtp.port, 'EHLO c.test\r\nMAIL FROM:<a@sender.test> SIZE=999999999\r\nQUIT\r\n');
    expect(codes(replies)).toContain(552);
  });

  it('answers 451 when the blob store fails, leaving no row and no object behind', async () => {
    // Every blob to the store: with the default INLINE_BLOB_BYTES these would be committed with the rows.
    await smtp.close();
    deps.cleanup();
    deps = testDeps({ MAX_MESSAGE_BYTES: '65536', MAX_RECIPIENTS: '3', INLINE_BLOB_BYTES: '0' });
    seed = await seedUserAndDomain(deps, 'example.com');
    await addRoute(deps, { userId: seed.user.id, domainId: seed.domain.id }, { match: '*@example.com', action: 'store' });
    smtp = await startSmtp(deps);
    const real = deps.blobs;
    let puts = 0;
    const failing: BlobStore = {
      ...real,
      kind: real.kind,
      get: (k) => real.get(k),
      delete: (k) => real.delete(k),
      check: () => real.check(),
      presign: (k, o) => real.presign(k, o),
      // The attachment is written, then the raw message fails: the attachment must go too.
      put: async (key, body) => {
        if (++puts === 2) {
          for await (const _ of body as Readable) void _;
          throw new Error('disk full');
        }
        return real.put(key, body);
      },
    };
    deps.blobs = failing;
    await expect(
      smtp.transport.sendMail({
        from: 'a@sender.test',
        to: 'x@example.com',
        text: 'hello',
        attachments: [{ filename: 'a.bin', content: Buffer.alloc(100, 1) }],
      }),
    ).rejects.toMatchObject({ responseCode: 451 });
    expect(countRows(deps, 'messages')).toBe(0);
    expect(countRows(deps, 'attachments')).toBe(0);
    expect(countRows(deps, 'deliveries')).toBe(0);
    const blobDir = join(deps.config.dataDir, 'blobs', 'msg');
    expect(existsSync(blobDir) ? readdirSync(blobDir) : []).toEqual([]);

    // The sender's retry, once storage is back, is accepted.
    deps.blobs = real;
    const info = await smtp.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', text: 'hello' });
    expect(info.response).toMatch(/^250 .*msg_/);
  });

  it('answers 451 when the database commit fails', async () => {
    deps.db.exec("CREATE TRIGGER fail_insert BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'boom'); END");
    await expect(smtp.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', text: 'x' })).rejects.toMatchObject({
      responseCode: 451,
    });
    const blobDir = join(deps.config.dataDir, 'blobs', 'msg');
    expect(existsSync(blobDir) ? readdirSync(blobDir) : []).toEqual([]);
  });

  it('does not split one message into two on <LF>.<CR><LF> smuggling', async () => {
    const smuggled =
      'EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n' +
      'Subject: first\r\n\r\nbody\n.\r\nMAIL FROM:<evil@sender.test>\r\nRCPT TO:<y@example.com>\r\nDATA\r\n' +
      'Subject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n';
    const replies = await rawSmtp(smtp.port, smuggled);
    expect(codes(replies).filter((c) => c === 250).length).toBeGreaterThanOrEqual(1);
    const rows = deps.db.prepare('SELECT subject FROM messages').all() as { subject: string }[];
    expect(rows).toEqual([{ subject: 'first' }]);
  });

  it('stores a message to several recipients of one account once, and once per account otherwise', async () => {
    const other = await seedUserAndDomain(deps, 'other.test');
    await addRoute(deps, { userId: other.user.id, domainId: other.domain.id }, { match: '*@other.test', action: 'store' });
    const info = await smtp.transport.sendMail({
      from: 'a@sender.test',
      to: ['one@example.com', 'two@example.com', 'three@other.test'],
      text: 'hi all',
    });
    const ids = (info.response ?? '').match(/msg_\w+/g)!;
    expect(ids).toHaveLength(2);
    const mine = await deps.repos.messages.list({ userId: seed.user.id, limit: 10 });
    const theirs = await deps.repos.messages.list({ userId: other.user.id, limit: 10 });
    expect(mine).toHaveLength(1);
    expect(mine[0]!.envelope.rcptTo).toEqual(['one@example.com', 'two@example.com']);
    expect(theirs).toHaveLength(1);
    expect(theirs[0]!.envelope.rcptTo).toEqual(['three@other.test']);
    expect(theirs[0]!.rawKey).not.toBe(mine[0]!.rawKey);
  });

  it('answers 452 beyond the recipient cap', async () => {
    const rcpts = [1, 2, 3, 4].map((i) => `RCPT TO:<r${i}@example.com>\r\n`).join('');
    const replies = await rawSmtp(smtp.port, `EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\n${rcpts}QUIT\r\n`);
    expect(codes(replies).filter((c) => c === 452)).toHaveLength(1);
  });

  it('accepts and discards mail that only a drop route matches', async () => {
    await addRoute(deps, { userId: seed.user.id, domainId: seed.domain.id }, { match: 'spam@example.com', action: 'drop', priority: 1, stop: true });
    const info = await smtp.transport.sendMail({ from: 'a@sender.test', to: 'spam@example.com', text: 'buy' });
    expect(info.response).toMatch(/^250 /);
    expect(countRows(deps, 'messages')).toBe(0);
  });

  it('rejects at RCPT for a reject route', async () => {
    await addRoute(deps, { userId: seed.user.id, domainId: seed.domain.id }, { match: 'noreply@example.com', action: 'reject', priority: 1 });
    await expect(smtp.transport.sendMail({ from: 'a@sender.test', to: 'noreply@example.com', text: 'x' })).rejects.toMatchObject({
      responseCode: 550,
    });
  });
});
