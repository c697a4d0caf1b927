import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';

/**
 * A crash (SIGKILL, power loss) in the middle of DATA leaves, besides the spool file, FsBlobStore
 * temporary files (`.tmp-<hex>`, written before fsync + rename) and whole objects of a message
 * whose rows never committed. No row names them, so neither the sweeper nor DELETE would ever
 * remove them: start-up does (src/store/orphans.ts), before the SMTP listener opens.
 */
let proc: MailhookProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'mailhook-leftovers-'));
afterAll(async () => {
  await proc?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('leftovers of a crash are cleaned at start-up', () => {
  it('spool files, blob temporary files and objects no row names are gone once the process is up', { timeout: 30_000 }, async () => {
    const orphan = newId('msg');
    const tmp = join(dir, 'blobs', 'msg', orphan, '.tmp-0123456789ab');
    mkdirSync(join(dir, 'blobs', 'msg', orphan), { recursive: true });
    mkdirSync(join(dir, 'spool'), { recursive: true });
    writeFileSync(join(dir, 'spool', '1-aaaaaaaaaaaaaaaa.eml'), 'x');
    writeFileSync(tmp, 'half an attachment');
    writeFileSync(join(dir, 'blobs', 'msg', orphan, 'raw.eml'), 'Subject: never committed\r\n\r\nx\r\n');
    writeFileSync(join(dir, 'blobs', 'msg', orphan, '0'), 'attachment of a message that never got its 250');

    proc = await startMailhook({ DATA_DIR: dir, AUTH_CHECKS: 'false', LOG_LEVEL: 'info' });
    expect(existsSync(join(dir, 'spool', '1-aaaaaaaaaaaaaaaa.eml'))).toBe(false);
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(join(dir, 'blobs', 'msg', orphan))).toBe(false);
  });
});
