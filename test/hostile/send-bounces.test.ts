import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bounceWorld, dsn } from '../helpers/bounces.js';
import { codes, rawSmtp } from '../helpers/smtp.js';

/**
 * Forged bounces (DESIGN §9): a DSN sent to one of our bounce addresses marks a recipient
 * `bounced` and puts it on the account's suppression list. Whoever can reach port 25 and knows
 * or derives such an address can do that, so the address must be one only we can make, and it
 * must only reach the recipients its message went to.
 */

const w = bounceWorld();
const suppressed = async (sendId: string, address: string) =>
  w.api.deps.repos.sends.isSuppressed((await w.api.deps.repos.sends.getById(sendId))!.userId, address);

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
  const replies = codes((await rawSmtp(w.smtp.port, script, 500)).filter((l) => l[3] === ' '));
  const rcpt = replies.slice(3, 3 + candidates.length);
  return new Map(candidates.map((c, i) => [c, rcpt[i]!]));
}

describe('forged bounces', () => {
  it('an account cannot derive another account\'s bounce address from its own and bounce (and suppress) its recipient', async () => {
    const [attacker, victim] = await w.setup(['attacker.test', 'victim.test']);
    // Two sends in one millisecond (a busy server): the attacker's, then the victim's.
    const mine = await w.send(attacker!.token, 'me@attacker.test', ['me@dest.test']);
    const theirs = await w.send(victim!.token, 'news@victim.test', ['customer@dest.test']);
    await w.worker.runOnce();
    expect(w.mx.mails).toHaveLength(2);
    const myBounce = w.mx.mails.find((m) => m.rcptTo[0] === 'me@dest.test')!.mailFrom;
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
      await w.smtp.transport.sendMail({ envelope: { from: '', to: [c] }, raw: dsn(c, 'customer@dest.test') }).catch(() => undefined);
    }
    expect(await w.status(theirs)).toEqual({ 'customer@dest.test': 'sent' });
    expect(await suppressed(theirs, 'customer@dest.test')).toBe(false);
  });

  it('a recipient cannot bounce a co-recipient at another destination through the address its copy came from; the real DSN for itself still works', async () => {
    const [sender] = await w.setup(['shop.test']);
    const id = await w.send(sender!.token, 'orders@shop.test', ['nosy@dest.test', 'buyer@other.test']);
    await w.worker.runOnce();
    expect(w.mx.mails).toHaveLength(2);
    const seenByNosy = w.mx.mails.find((m) => m.rcptTo.includes('nosy@dest.test'))!.mailFrom;
    const seenByBuyer = w.mx.mails.find((m) => m.rcptTo.includes('buyer@other.test'))!.mailFrom;
    expect(seenByNosy).not.toBe(seenByBuyer);

    // Taken at RCPT (it is a real bounce address), but it names a recipient its copy did not go to.
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [seenByNosy] }, raw: dsn(seenByNosy, 'buyer@other.test') });
    expect(await w.status(id)).toEqual({ 'nosy@dest.test': 'sent', 'buyer@other.test': 'sent' });
    expect(await suppressed(id, 'buyer@other.test')).toBe(false);

    // The bare address (the tag cut off) or another tag is not a bounce address at all.
    const bare = seenByNosy.replace(/-[0-9a-f]+@/, '@');
    const otherTag = seenByNosy.replace(/-[0-9a-f]+@/, '-0123456789abcdef@');
    expect(Object.fromEntries(await probe([bare, otherTag, seenByBuyer]))).toEqual({ [bare]: 550, [otherTag]: 550, [seenByBuyer]: 250 });

    // The DSN a real MTA sends for buyer@other.test, to the address that copy carried, applies.
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [seenByBuyer] }, raw: dsn(seenByBuyer, 'buyer@other.test') });
    expect(await w.status(id)).toEqual({ 'nosy@dest.test': 'sent', 'buyer@other.test': 'bounced' });
    expect(await suppressed(id, 'buyer@other.test')).toBe(true);
  });

  it('a recipient cannot bounce a co-recipient at its own destination: each recipient\'s transaction has its own address', async () => {
    const [sender] = await w.setup(['shop.test']);
    const id = await w.send(sender!.token, 'news@shop.test', ['nosy@dest.test', 'neighbour@dest.test']);
    await w.worker.runOnce();
    // One transaction each (on one connection), so each copy carries an address for itself alone.
    expect(w.mx.mails.map((m) => m.rcptTo)).toEqual([['nosy@dest.test'], ['neighbour@dest.test']]);
    const [seenByNosy, seenByNeighbour] = w.mx.mails.map((m) => m.mailFrom);
    expect(seenByNosy).not.toBe(seenByNeighbour);

    // nosy forges the report its neighbour's MTA would send, to the only address it knows: taken, nothing changes.
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [seenByNosy!] }, raw: dsn(seenByNosy!, 'neighbour@dest.test') });
    expect(await w.status(id)).toEqual({ 'nosy@dest.test': 'sent', 'neighbour@dest.test': 'sent' });
    expect(await suppressed(id, 'neighbour@dest.test')).toBe(false);

    // The real DSN for neighbour, to the address its copy carried, applies (and to nobody else).
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [seenByNeighbour!] }, raw: dsn(seenByNeighbour!, 'neighbour@dest.test') });
    expect(await w.status(id)).toEqual({ 'nosy@dest.test': 'sent', 'neighbour@dest.test': 'bounced' });
    expect(await suppressed(id, 'neighbour@dest.test')).toBe(true);
  });

  it('an address made before per-recipient tags (tagged for the destination) still takes the DSNs of the recipients there', async () => {
    const [sender] = await w.setup(['shop.test']);
    const id = await w.send(sender!.token, 'news@shop.test', ['a@dest.test', 'b@dest.test', 'c@other.test']);
    await w.worker.runOnce();
    // What older code put in the envelope: the tag over the send id and the destination (README, "Sending").
    const tag = createHmac('sha256', `mailhook verp ${w.api.deps.config.secret}`).update(`${id}\ndest.test`).digest('hex').slice(0, 16);
    const old = `bounce+${id}-${tag}@shop.test`;
    expect(w.mx.mails.map((m) => m.mailFrom)).not.toContain(old);
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [old] }, raw: dsn(old, 'c@other.test') });
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [old] }, raw: dsn(old, 'b@dest.test') });
    expect(await w.status(id)).toEqual({ 'a@dest.test': 'sent', 'b@dest.test': 'bounced', 'c@other.test': 'sent' });
  });

  // These held on main too: kept as the record of what each does.
  it('DSNs naming a recipient not in the send, without the fields, in a strange charset or nested: taken, nothing changed, the server answers on', async () => {
    const [sender] = await w.setup(['shop.test']);
    const id = await w.send(sender!.token, 'orders@shop.test', ['a@dest.test']);
    await w.worker.runOnce();
    const bounceTo = w.mx.mails[0]!.mailFrom;
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
      const info = await w.smtp.transport.sendMail({ envelope: { from: '', to: [bounceTo] }, raw });
      expect(info.accepted).toEqual([bounceTo]);
    }
    expect(await w.status(id)).toEqual({ 'a@dest.test': 'sent' });
    expect(await suppressed(id, 'a@dest.test')).toBe(false);
  });
});
