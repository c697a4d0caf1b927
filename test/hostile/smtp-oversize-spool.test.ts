import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countRows, hostileSmtp, openData, sleep, stillServes, type HostileSmtp } from './harness.js';

/**
 * smtp-server only flags an over-size message (stream.sizeExceeded) and answers 552
 * after the dot; meanwhile spool() writes every byte to DATA_DIR/spool. With
 * MAX_MESSAGE_BYTES = 50 MiB a sender that never stops fills the disk that every other
 * message, the database and the blob store live on (a 2 GB body = 2 GB on disk before the 552).
 * Fixed: give spool() the limit and stop keeping bytes once it is passed, while still reading
 * the stream to its end (smtp-server needs the terminator to answer 552):
 *   for await (const chunk of stream) { size += chunk.length; if (size > maxBytes) continue; ... }
 * receive-message.ts already turns stream.sizeExceeded into 552 afterwards.
 */
let h: HostileSmtp;
afterEach(async () => h?.close());

const spoolBytes = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).reduce((n, f) => n + (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0), 0) : 0;

describe('an over-size body is not written to disk', () => {
  it('8 MB sent against a 64 KiB limit: 552, never more than 1 MiB in the spool', async () => {
    h = await hostileSmtp({ MAX_MESSAGE_BYTES: '65536' });
    const dir = join(h.deps.config.dataDir, 'spool');
    const c = await openData(h.port);
    c.write('Subject: endless\r\n\r\n');
    const chunk = ('y'.repeat(1022) + '\r\n').repeat(64); // 64 KiB
    let peak = 0;
    for (let i = 0; i < 128; i++) {
      if (!c.socket.write(chunk)) await new Promise((r) => c.socket.once('drain', r));
      if (i % 8 === 7) {
        await sleep(5);
        peak = Math.max(peak, spoolBytes(dir));
      }
    }
    expect(await c.send('.\r\n', 10_000)).toMatch(/^552 /);
    expect(peak).toBeLessThanOrEqual(1024 * 1024);
    expect(countRows(h.deps, 'messages')).toBe(0);
    await stillServes(h);
  });
});
