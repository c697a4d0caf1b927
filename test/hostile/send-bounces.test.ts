import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTransfers } from '../../src/send/transfer.js';
import { createOutboundWorker, type OutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { fakeClock } from '../helpers/deps.js';
import { codes, rawSmtp, startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { sendingDomain, type SendingDomain } from '../helpers/sending.js';

/**
 * Forged bounces (DESIGN §9): a DSN sent to one of our bounce addresses marks a recipient
 * `bounced` and puts it on the account's suppression list. Whoever can reach port 25 and knows
 * or derives such an address can do that, so the address must be one only we can make, and it
 * must only reach the recipients its message went to.
 */
let dns: TestDnsServer;
let mx: MxServer;
let api: TestApi;
let worker: OutboundWorker;
let smtp: RunningSmtp;

beforeAll(async () => {
  [dns, mx] = await Promise.all([startDnsServer(), startMxServer()]);
});
afterAll(async () => {
  await Promise.all([dns.close(), mx.close()]);
});
afterEach(async () => {
  closeTransfers();
  await smtp?.close();
  await api?.deps.cleanup();
  mx.mails.length = 0;
});

async function account(name: string): Promise<{ token: string; domain: SendingDomain }> {
  const { token } = await signup(api);
  return { token, domain: await sendingDomain(api, token, name) };
}

async function setup(names: string[]) {
  const clock = fakeClock(Date.now());
  api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) }, { now: clock.now });
  const accounts = [];
  for (const n of names) accounts.push(await account(n));
  dns.set([
    ...accounts.map((a) => a.domain.dkimRecord),
    { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
    { name: 'other.test', type: 'MX', value: 'mx.dest.test' },
    { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
  ]);
  worker = createOutboundWorker(api.deps, { random: () => 0.5 });
  smtp = await startSmtp(api.deps);
  return accounts;
}

const send = async (token: string, from: string, to: string[]) => {
  const res = await api.call('POST', '/v1/send', { token, body: { from, to, subject: 'Hello', text: 'Hi' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
};

const dsn = (to: string, recipient: string) =>
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

const status = async (sendId: string) => Object.fromEntries((await api.deps.repos.sends.recipients(sendId)).map((r) => [r.address, r.status]));
const suppressed = async (sendId: string, address: string) =>
  api.deps.repos.sends.isSuppressed((await api.deps.repos.sends.getById(sendId))!.userId, address);

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
/** The id `k` after `id` (ids made in one millisecond are consecutive, src/ids.ts). */
function idPlus(id: string, k: number): string {
  const body = id.slice(4);
  let v = 0n;
  for (const c of body) v = v * 32n + BigInt(CROCKFORD.indexOf(c));
  v += BigInt(k);
  let out = '';
  for (let i = 0; i < body.length; i++, v /= 32n) out = CROCKFORD[Number(v % 32n)]! + out;
  return `snd_${out}`;
}

/** RCPT replies for each candidate address, one raw SMTP session. */
async function probe(candidates: string[]): Promise<Map<string, number>> {
  const script = `EHLO attacker.test\r\nMAIL FROM:<>\r\n${candidates.map((c) => `RCPT TO:<${c}>\r\n`).join('')}QUIT\r\n`;
  // The last line of each reply: the greeting, EHLO, MAIL FROM, then one per RCPT.
  const replies = codes((await rawSmtp(smtp.port, script, 500)).filter((l) => l[3] === ' '));
  const rcpt = replies.slice(3, 3 + candidates.length);
  return new Map(candidates.map((c, i) => [c, rcpt[i]!]));
}

describe('forged bounces', () => {
  it('an account cannot derive another account\'s bounce address from its own and bounce (and suppress) its recipient', async () => {
    const [attacker, victim] = await setup(['attacker.test', 'victim.test']);
    // Two sends in one millisecond (a busy server): the attacker's, then the victim's.
    const mine = await send(attacker!.token, 'me@attacker.test', ['me@dest.test']);
    const theirs = await send(victim!.token, 'news@victim.test', ['customer@dest.test']);
    await worker.runOnce();
    expect(mx.mails).toHaveLength(2);
    const myBounce = mx.mails.find((m) => m.rcptTo[0] === 'me@dest.test')!.mailFrom;
    expect(myBounce).toContain(mine);

    // The attacker makes addresses of the sends around its own at the victim's (public) domain:
    // the bare form, and with its own address's tag if it has one.
    const tag = /-([0-9a-f]+)@/.exec(myBounce)?.[1];
    const candidates = [-4, -3, -2, -1, 1, 2, 3, 4].flatMap((k) => {
      const id = idPlus(mine, k);
      return [`bounce+${id}@victim.test`, ...(tag ? [`bounce+${id}-${tag}@victim.test`] : [])];
    });
    expect(candidates.some((c) => c.includes(theirs))).toBe(true);
    const replies = await probe(candidates);
    // None is taken: the victim's domain has no route, so every one is refused at RCPT.
    expect([...replies.values()].every((c) => c === 550)).toBe(true);

    for (const c of candidates.filter((c) => c.includes(theirs))) {
      await smtp.transport.sendMail({ envelope: { from: '', to: [c] }, raw: dsn(c, 'customer@dest.test') }).catch(() => undefined);
    }
    expect(await status(theirs)).toEqual({ 'customer@dest.test': 'sent' });
    expect(await suppressed(theirs, 'customer@dest.test')).toBe(false);
  });

  it('a recipient cannot bounce a co-recipient at another destination through the address its copy came from; the real DSN for itself still works', async () => {
    const [sender] = await setup(['shop.test']);
    const id = await send(sender!.token, 'orders@shop.test', ['nosy@dest.test', 'buyer@other.test']);
    await worker.runOnce();
    expect(mx.mails).toHaveLength(2);
    const seenByNosy = mx.mails.find((m) => m.rcptTo.includes('nosy@dest.test'))!.mailFrom;
    const seenByBuyer = mx.mails.find((m) => m.rcptTo.includes('buyer@other.test'))!.mailFrom;
    expect(seenByNosy).not.toBe(seenByBuyer);

    // Taken at RCPT (it is a real bounce address), but it names a recipient its copy did not go to.
    await smtp.transport.sendMail({ envelope: { from: '', to: [seenByNosy] }, raw: dsn(seenByNosy, 'buyer@other.test') });
    expect(await status(id)).toEqual({ 'nosy@dest.test': 'sent', 'buyer@other.test': 'sent' });
    expect(await suppressed(id, 'buyer@other.test')).toBe(false);

    // The bare address (the tag cut off) or another tag is not a bounce address at all.
    const bare = seenByNosy.replace(/-[0-9a-f]+@/, '@');
    const otherTag = seenByNosy.replace(/-[0-9a-f]+@/, '-0123456789abcdef@');
    expect(Object.fromEntries(await probe([bare, otherTag, seenByBuyer]))).toEqual({ [bare]: 550, [otherTag]: 550, [seenByBuyer]: 250 });

    // The DSN a real MTA sends for buyer@other.test, to the address that copy carried, applies.
    await smtp.transport.sendMail({ envelope: { from: '', to: [seenByBuyer] }, raw: dsn(seenByBuyer, 'buyer@other.test') });
    expect(await status(id)).toEqual({ 'nosy@dest.test': 'sent', 'buyer@other.test': 'bounced' });
    expect(await suppressed(id, 'buyer@other.test')).toBe(true);
  });

  // These held on main too: kept as the record of what each does.
  it('DSNs naming a recipient not in the send, without the fields, in a strange charset or nested: taken, nothing changed, the server answers on', async () => {
    const [sender] = await setup(['shop.test']);
    const id = await send(sender!.token, 'orders@shop.test', ['a@dest.test']);
    await worker.runOnce();
    const bounceTo = mx.mails[0]!.mailFrom;
    const nested = `Content-Type: multipart/mixed; boundary="N0"\r\n\r\n${Array.from({ length: 2000 }, (_, i) => `--N${i}\r\nContent-Type: multipart/mixed; boundary="N${i + 1}"\r\n\r\n`).join('')}`;
    const reports = [
      dsn(bounceTo, 'stranger@dest.test'),
      dsn(bounceTo, 'a@dest.test').replace(/Final-Recipient: [^\r]*\r\n/, ''),
      dsn(bounceTo, 'a@dest.test').replace('Action: failed\r\nStatus: 5.1.1\r\n', ''),
      dsn(bounceTo, 'a@dest.test').replace('Content-Type: message/delivery-status', 'Content-Type: message/delivery-status; charset=x-unknown\r\nContent-Transfer-Encoding: base64').replace('Final-Recipient: rfc822; a@dest.test', 'Final-Recipient: rfc822; \u00e0@dest.test\u0000\uffff'),
      nested,
      'not a report at all',
    ];
    for (const raw of reports) {
      const info = await smtp.transport.sendMail({ envelope: { from: '', to: [bounceTo] }, raw });
      expect(info.accepted).toEqual([bounceTo]);
    }
    expect(await status(id)).toEqual({ 'a@dest.test': 'sent' });
    expect(await suppressed(id, 'a@dest.test')).toBe(false);
  });
});
