import { newId } from '../../src/ids.js';
import type { Deps } from '../../src/deps.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import { attachmentKey, rawKey } from '../../src/store/blob-store.js';
import { createHash } from 'node:crypto';

/** A stored message with attachments, written straight to the database and blob store. */
export async function storeMessage(
  deps: Deps,
  owner: { userId: string; domainId: string },
  opts: { receivedAt?: number; attachments?: { filename: string; content: Buffer; contentType?: string }[] } = {},
) {
  const receivedAt = opts.receivedAt ?? deps.now();
  const id = newId('msg', receivedAt);
  const raw = Buffer.from('From: a@sender.test\r\nSubject: stored\r\n\r\nhello\r\n');
  await deps.blobs.put(rawKey(id), raw);
  const atts = [];
  for (const [index, a] of (opts.attachments ?? []).entries()) {
    const blobKey = attachmentKey(id, index);
    await deps.blobs.put(blobKey, a.content);
    atts.push({
      id: newId('att'),
      messageId: id,
      index,
      filename: a.filename,
      contentType: a.contentType ?? 'application/octet-stream',
      size: a.content.length,
      sha256: createHash('sha256').update(a.content).digest('hex'),
      contentId: '',
      blobKey,
    });
  }
  const parsed = { ...emptyParsed(), subject: 'stored', from: { address: 'a@sender.test', name: '' } };
  parsed.attachments = atts.map(({ index, filename, contentType, size, sha256, contentId }) => ({
    index,
    filename,
    contentType,
    size,
    sha256,
    contentId,
  }));
  await deps.repos.messages.insert(
    {
      id,
      userId: owner.userId,
      domainId: owner.domainId,
      envelope: { mailFrom: 'a@sender.test', rcptTo: ['x@example.com'], helo: 'c.test', remoteIp: '127.0.0.1', tls: false },
      parsed,
      auth: {},
      size: raw.length,
      rawKey: rawKey(id),
      parseError: null,
      receivedAt,
      purgedAt: null,
    },
    atts,
  );
  await deps.repos.messages.insertRecipient(id, 'x@example.com', owner.domainId);
  return { id, raw, attachments: atts };
}
