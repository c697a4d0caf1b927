import type { Delivery } from '../../src/db/deliveries.js';
import type { StoredAttachment, StoredMessage } from '../../src/db/messages.js';
import type { Deps } from '../../src/deps.js';
import { newId } from '../../src/ids.js';
import type { AuthResults } from '../../src/parse/types.js';

export const SECRET = 'whsec_' + Buffer.from('route-secret-for-the-tests-0123').toString('base64');

/** A plausible stored message with `attachments` attachments, written to the database. */
export async function seedMessage(
  deps: Deps,
  owner: { userId: string; domainId: string },
  opts: { attachments?: number; auth?: AuthResults | Record<string, never> } = {},
): Promise<{ message: StoredMessage; attachments: StoredAttachment[] }> {
  const id = newId('msg', deps.now());
  const attachments: StoredAttachment[] = Array.from({ length: opts.attachments ?? 0 }, (_, i) => ({
    id: newId('att', deps.now()),
    messageId: id,
    index: i,
    filename: `invoice-${i}.pdf`,
    contentType: 'application/pdf',
    size: 1000 + i,
    sha256: String(i).repeat(64),
    contentId: i === 0 ? '<logo@example.com>' : '',
    blobKey: `att/${id}/${i}`,
  }));
  const message: StoredMessage = {
    id,
    userId: owner.userId,
    domainId: owner.domainId,
    envelope: {
      mailFrom: 'alice@sender.test',
      rcptTo: ['support@example.com'],
      helo: 'mail.sender.test',
      remoteIp: '203.0.113.7',
      tls: true,
    },
    parsed: {
      from: { address: 'alice@sender.test', name: 'Alice' },
      to: [{ address: 'support@example.com', name: 'Support' }],
      cc: [{ address: 'bob@sender.test', name: '' }],
      replyTo: [{ address: 'replies@sender.test', name: 'Replies' }],
      subject: 'Order #42',
      date: Date.UTC(2026, 10, 23, 11, 59, 0),
      messageId: '<42@sender.test>',
      inReplyTo: '<41@sender.test>',
      references: ['<40@sender.test>', '<41@sender.test>'],
      headers: [
        { name: 'From', value: 'Alice <alice@sender.test>' },
        { name: 'Subject', value: 'Order #42' },
      ],
      text: 'Hello\n',
      html: '<p>Hello</p>',
      attachments: attachments.map(({ index, filename, contentType, size, sha256, contentId }) => ({
        index,
        filename,
        contentType,
        size,
        sha256,
        contentId,
      })),
    },
    auth: opts.auth ?? { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' },
    size: 4321,
    rawKey: `raw/${id}.eml`,
    parseError: null,
    receivedAt: deps.now(),
    purgedAt: null,
  };
  await deps.repos.messages.insert(message, attachments);
  return { message, attachments };
}

/** The domain a seeded delivery belongs to unless the test says: its message's (first recipient's). */
async function messageDomain(deps: Deps, messageId: string): Promise<string> {
  return (await deps.repos.messages.getById(messageId))!.domainId;
}

/** Queues a delivery of `messageId` to `url`, due now. */
export async function seedDelivery(
  deps: Deps,
  d: { userId: string; messageId: string; url: string; routeId?: string | null; domainId?: string; secret?: string },
): Promise<Delivery> {
  const id = newId('dlv', deps.now());
  await deps.repos.deliveries.insert(
    { id, userId: d.userId, messageId: d.messageId, routeId: d.routeId ?? null, domainId: d.domainId ?? await messageDomain(deps, d.messageId), url: d.url, secret: d.secret ?? SECRET },
    deps.now(),
  );
  return (await deps.repos.deliveries.getById(id))!;
}
