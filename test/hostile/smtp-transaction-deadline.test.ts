import { afterEach, describe, expect, it } from 'vitest';
import { countRows, hostileSmtp, openData, RawClient, sleep, stillServes, type HostileSmtp } from './harness.js';

/**
 * The only clock on a session is
 * smtp-server's idle timeout (SMTP_IDLE_TIMEOUT_MS), which restarts on every byte: a client
 * that drips one byte every 59 s keeps a connection (and a per-IP / global slot) forever, in
 * DATA or with NOOPs. 500 such clients take the listener down (slowloris).
 * SMTP_TRANSACTION_TIMEOUT_MS is now in config.ts (default 10 min): a session must complete a
 * transaction (or quit) within it, counted from connecting and again after every DATA reply.
 * Fixed, in createSmtpServer: a Map<session.id, Timeout>; arm it in onConnect and re-arm it
 * after each DATA reply; clear it when the DATA stream ends (storage time is ours, not the
 * client's) and in onClose; on expiry answer 421 through smtp-server's public connection set:
 *   const conn = [...server.connections].find((c) => c.id === session.id);
 *   conn?.send(421, 'Transaction took too long, closing connection');   // send(421) closes
 */
let h: HostileSmtp;
afterEach(async () => h?.close());

describe('a transaction has a deadline however slowly it trickles', () => {
  it('a DATA dripping one byte every 150 ms is cut at SMTP_TRANSACTION_TIMEOUT_MS with 421, nothing stored', async () => {
    h = await hostileSmtp({ SMTP_IDLE_TIMEOUT_MS: '1000', SMTP_TRANSACTION_TIMEOUT_MS: '2000' });
    const c = await openData(h.port);
    const t = Date.now();
    while (!c.isClosed && Date.now() - t < 5000) {
      c.write('x');
      await sleep(150);
    }
    expect(c.isClosed).toBe(true);
    expect(c.lines.at(-1)).toMatch(/^421 /);
    expect(Date.now() - t).toBeLessThan(4000);
    expect(countRows(h.deps, 'messages')).toBe(0);
    await stillServes(h);
  });

  it('NOOPs every 300 ms do not hold a connection past the deadline either', async () => {
    h = await hostileSmtp({ SMTP_IDLE_TIMEOUT_MS: '1000', SMTP_TRANSACTION_TIMEOUT_MS: '2000' });
    const c = await RawClient.open(h.port);
    const t = Date.now();
    while (!c.isClosed && Date.now() - t < 5000) {
      c.write('NOOP\r\n');
      await sleep(300);
    }
    expect(c.isClosed).toBe(true);
    expect(Date.now() - t).toBeLessThan(4000);
  });
});
