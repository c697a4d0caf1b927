import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeTransfers, transfer } from '../../src/send/transfer.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';

const raw = (n: number) => Buffer.from(`From: a@example.com\r\nTo: b@dest.test\r\nSubject: ${n}\r\n\r\n.leading dot\r\nbody ${n}\r\n`);
const via = (mx: MxServer) => ({ kind: 'mx' as const, mx: { host: 'mx.dest.test', ip: '127.0.0.1' }, port: mx.port, helo: 'mailhook.test' });
const one = (mx: MxServer, n: number, recipients = [`r${n}@dest.test`]) => transfer({ mailFrom: 'bounce@example.com', recipients, raw: raw(n) }, via(mx));

let servers: MxServer[] = [];
const start = async (opts: Parameters<typeof startMxServer>[0] = {}) => {
  const mx = await startMxServer(opts);
  servers.push(mx);
  return mx;
};
afterEach(async () => {
  closeTransfers();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('transfer: kept SMTP connections per server', () => {
  it('20 transactions at once to one server use at most 4 connections, then reuse them; bytes arrive dot-unstuffed as sent', async () => {
    const mx = await start();
    mx.dataDelayMs = 50;
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => one(mx, n)));
    expect(results.every((r) => r.connected && r.results[0]!.code === 250)).toBe(true);
    expect(mx.mails).toHaveLength(20);
    expect(mx.connections).toBeLessThanOrEqual(4);
    const opened = mx.connections;
    expect((await one(mx, 20)).results[0]!.code).toBe(250);
    expect(mx.connections).toBe(opened);
    const got = mx.mails.find((m) => m.rcptTo[0] === 'r7@dest.test')!;
    expect(got.raw.equals(raw(7))).toBe(true);
  });

  it('per-recipient answers; recipients refused at RCPT leave the connection in use (RSET) for the next transaction', async () => {
    const mx = await start();
    mx.onRcpt = (a) => (a.startsWith('no') ? { code: 550, message: '5.1.1 no such user' } : a.startsWith('later') ? { code: 451, message: '4.2.0 later' } : undefined);
    const mixed = await one(mx, 1, ['yes@dest.test', 'no@dest.test', 'later@dest.test']);
    expect(mixed.results.map((r) => [r.address, r.code])).toEqual([['yes@dest.test', 250], ['no@dest.test', 550], ['later@dest.test', 451]]);
    const none = await one(mx, 2, ['no@dest.test', 'later@dest.test']);
    // Both refused at RCPT: RSET, and the same connection carries the next transaction.
    expect(mx.connections).toBe(1);
    expect(none.results.map((r) => r.code)).toEqual([550, 451]);
    mx.onData = () => ({ code: 554, message: '5.6.0 refused' });
    const refused = await one(mx, 3);
    expect(refused).toMatchObject({ connected: true, results: [{ code: 554 }] });
    mx.onData = () => undefined;
    expect((await one(mx, 4)).results[0]!.code).toBe(250);
  });

  it('a kept connection the server closed while idle: the next transaction goes over a new one', async () => {
    const mx = await start({ socketTimeout: 200 });
    expect((await one(mx, 1)).results[0]!.code).toBe(250);
    await new Promise((r) => setTimeout(r, 500));
    expect((await one(mx, 2)).results[0]!.code).toBe(250);
    expect(mx.connections).toBe(2);
  });

  it('the message and its final dot line leave in one write', async () => {
    const mx = await start();
    expect((await one(mx, 0)).results[0]!.code).toBe(250);
    // What each write of a socket hands the kernel (a writev's chunks joined), while one message goes.
    const proto = Socket.prototype as unknown as { _writeGeneric(writev: boolean, data: unknown, ...rest: unknown[]): unknown };
    const original = proto._writeGeneric;
    const writes: string[] = [];
    proto._writeGeneric = function (writev, data, ...rest) {
      const chunks = writev ? (data as ({ chunk: Buffer | string } | Buffer)[]).map((c) => (Buffer.isBuffer(c) ? c : c.chunk)) : [data as Buffer | string];
      writes.push(chunks.map((c) => c.toString()).join(''));
      return original.call(this, writev, data, ...rest);
    };
    try {
      expect((await one(mx, 1)).results[0]!.code).toBe(250);
    } finally {
      proto._writeGeneric = original;
    }
    // Dot-stuffed by nodemailer (".leading dot" -> "..leading dot"), then the end of the data.
    const message = raw(1).toString().replace('\r\n.leading', '\r\n..leading');
    expect(writes).toContain(`${message}.\r\n`);
  });

  it('no server listening: no code, not connected', async () => {
    const mx = await start();
    await mx.close();
    servers = [];
    const r = await one(mx, 1);
    expect(r.connected).toBe(false);
    expect(r.results[0]).toMatchObject({ code: null, reply: expect.stringMatching(/ECONNECTION|ECONNREFUSED/) });
  });
});
