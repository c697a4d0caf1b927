import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../../src/auth/sessions.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';

const BIN = fileURLToPath(new URL('../../bin/mailhook.js', import.meta.url));
const run = promisify(execFile);
const SECRET = 'backup-test-secret-backup-test-secret-0123';
const ENV = { AUTH_CHECKS: 'false', LOG_LEVEL: 'info', MX_HOST: 'mx.backup.test', SECRET };
const TOTAL = 500;

const cli = (dataDir: string, ...args: string[]) =>
  run(process.execPath, [BIN, ...args], { env: { ...process.env, ...ENV, DATA_DIR: dataDir, LOG_LEVEL: 'silent' } });

interface Sent {
  n: number;
  sentAt: number;
  ackedAt: number;
  id: string;
}

describe('mailhook backup and restore', () => {
  let root: string;
  let live: string;
  let token: string;
  let proc: MailhookProcess | undefined;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mailhook-backup-'));
    live = join(root, 'live');
    const deps = createDeps(loadConfig({ ...ENV, DATA_DIR: live, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, 'backup.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, { match: '*@backup.test', action: 'store' });
    token = await createSession(deps, user.id);
    deps.db!.close();
  });

  afterAll(async () => {
    await proc?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('a backup taken during 500 incoming messages restores into a server that lists exactly the messages committed at that point', { timeout: 240_000 }, async () => {
    proc = await startMailhook({ ...ENV, DATA_DIR: live });
    const port = proc.smtpPort;
    const sent: Sent[] = [];
    let next = 0;
    let backupEnd = Infinity;
    // At least TOTAL messages, and the load goes on until some were sent after the backup ended
    // (however fast the backup or the ingest is), so the backup really is taken under load.
    const sentAfterBackup = () => sent.filter((s) => s.sentAt > backupEnd).length;
    const lane = async () => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 });
      while ((next < TOTAL || sentAfterBackup() < 20) && next < 20 * TOTAL) {
        const n = next++;
        const sentAt = Date.now();
        const info = await transport.sendMail({ from: 'a@sender.test', to: 'in@backup.test', subject: `load ${n}`, text: `message ${n}` });
        sent.push({ n, sentAt, ackedAt: Date.now(), id: /msg_\w+/.exec(info.response)![0] });
      }
      transport.close();
    };
    const load = Promise.all(Array.from({ length: 8 }, lane));

    while (sent.length < 150) await new Promise((r) => setTimeout(r, 10));
    const file = join(root, 'mailhook-backup.db');
    const backupStart = Date.now();
    const backup = JSON.parse((await cli(live, 'backup', file)).stdout) as { file: string; bytes: number; messages: number };
    backupEnd = Date.now();
    await load;
    expect(sent.length).toBeGreaterThanOrEqual(TOTAL);
    // The load really was running on both sides of the backup.
    expect(sentAfterBackup()).toBeGreaterThan(0);
    expect(backup.file).toBe(file);
    expect(backup.bytes).toBeGreaterThan(0);
    expect(backup.messages).toBeGreaterThanOrEqual(150);
    expect(backup.messages).toBeLessThan(sent.length);
    expect(await proc.kill('SIGTERM')).toBe(0);

    // Never over an existing file, never into a DATA_DIR that has anything in it.
    await expect(cli(live, 'backup', file)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    await expect(cli(live, 'restore', file)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('is not empty') });
    const junk = join(root, 'junk.db');
    writeFileSync(junk, 'not a database');
    const empty = join(root, 'empty');
    await expect(cli(empty, 'restore', junk)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('not a readable SQLite database') });
    expect(existsSync(empty) ? readdirSync(empty) : []).toEqual([]);

    const restored = join(root, 'restored');
    const out = JSON.parse((await cli(restored, 'restore', file)).stdout) as { messages: number };
    expect(out.messages).toBe(backup.messages);
    // Blob files are not in the backup (README "Operations"): copied after it, they are a superset.
    // Blobs kept inline in the database need no copy; then there may be no folder at all.
    if (existsSync(join(live, 'blobs'))) cpSync(join(live, 'blobs'), join(restored, 'blobs'), { recursive: true });

    proc = await startMailhook({ ...ENV, DATA_DIR: restored });
    const api = `http://127.0.0.1:${proc.httpPort}`;
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Response = await fetch(`${api}/api/messages?limit=200${cursor ? `&before=${cursor}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: { id: string }[]; next_cursor: string | null };
      listed.push(...page.data.map((m) => m.id));
      cursor = page.next_cursor;
    } while (cursor);

    const inBackup = new Set(listed);
    expect(inBackup.size).toBe(backup.messages);
    // Acknowledged before the backup began: committed before it, so in it. Sent after it ended: not.
    expect(sent.filter((s) => s.ackedAt < backupStart && !inBackup.has(s.id)).map((s) => s.n)).toEqual([]);
    expect(sent.filter((s) => s.sentAt > backupEnd && inBackup.has(s.id)).map((s) => s.n)).toEqual([]);
    // Nothing in it that the live server did not store.
    const all = new Set(sent.map((s) => s.id));
    expect(listed.filter((id) => !all.has(id))).toEqual([]);

    // Each restored message is whole: its raw MIME reads back.
    for (const s of sent.filter((x) => inBackup.has(x.id)).slice(0, 25)) {
      const raw = await fetch(`${api}/api/messages/${s.id}/raw`, { headers: { authorization: `Bearer ${token}` } });
      expect(raw.status).toBe(200);
      expect(await raw.text()).toContain(`Subject: load ${s.n}`);
    }
  });
});
