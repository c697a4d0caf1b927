import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { closeTransfers } from '../../src/send/transfer.js';
import { createOutboundWorker, type OutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from './api.js';
import { fakeClock } from './deps.js';
import { startSmtp, type RunningSmtp } from './smtp.js';
import { startDnsServer, type TestDnsServer } from './dns-server.js';
import { startMxServer, type MxServer } from './mx-server.js';
import { sendingDomain, type SendingDomain } from './sending.js';

/**
 * The world of the bounce tests (test/hostile/send-bounces*.test.ts, send-dsn-*.test.ts): a loopback
 * DNS server, a destination MX, accounts with verified sending domains, the outbound worker and
 * our own SMTP server to send DSNs to. Registers its vitest hooks; call it at a file's top level.
 */
export interface BounceWorld {
  dns: TestDnsServer;
  mx: MxServer;
  api: TestApi;
  worker: OutboundWorker;
  smtp: RunningSmtp;
  /** A fresh API with one account per domain name, MX records for dest.test and other.test. */
  setup(names: string[]): Promise<{ token: string; domain: SendingDomain }[]>;
  send(token: string, from: string, to: string[]): Promise<string>;
  status(sendId: string): Promise<Record<string, string>>;
}

export function bounceWorld(): BounceWorld {
  const w = {} as BounceWorld;
  beforeAll(async () => {
    [w.dns, w.mx] = await Promise.all([startDnsServer(), startMxServer()]);
  });
  afterAll(async () => {
    await Promise.all([w.dns.close(), w.mx.close()]);
  });
  afterEach(async () => {
    closeTransfers();
    await w.smtp?.close();
    await w.api?.deps.cleanup();
    w.mx.mails.length = 0;
  });
  w.setup = async (names) => {
    w.api = testApi({ DNS_SERVERS: w.dns.address, OUTBOUND_SMTP_PORT: String(w.mx.port) }, { now: fakeClock(Date.now()).now });
    const accounts = [];
    for (const name of names) {
      const { token } = await signup(w.api);
      accounts.push({ token, domain: await sendingDomain(w.api, token, name) });
    }
    w.dns.set([
      ...accounts.map((a) => a.domain.dkimRecord),
      { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
      { name: 'other.test', type: 'MX', value: 'mx.dest.test' },
      { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
    ]);
    w.worker = createOutboundWorker(w.api.deps, { random: () => 0.5 });
    w.smtp = await startSmtp(w.api.deps);
    return accounts;
  };
  w.send = async (token, from, to) => {
    const res = await w.api.call('POST', '/v1/send', { token, body: { from, to, subject: 'Hello', text: 'Hi' } });
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  w.status = async (sendId) => Object.fromEntries((await w.api.deps.repos.sends.recipients(sendId)).map((r) => [r.address, r.status]));
  return w;
}

/** A delivery status notification (RFC 3464) from mx.dest.test to `to`, failing `recipient` with a 550. */
export const dsn = (to: string, recipient: string) =>
  [
    'From: MAILER-DAEMON@mx.dest.test',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.dest.test',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 no such user',
    '',
    '--B--',
    '',
  ].join('\r\n');
