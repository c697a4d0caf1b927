import type { Deps } from '../../src/deps.js';
import { sqliteTables } from '../../src/db/sqlite-tables.js';
import { newId } from '../../src/ids.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import type { ParsedMessage } from '../../src/parse/types.js';
import { rawKey } from '../../src/store/blob-store.js';
import { subjectOf } from './messages.js';

/** A parsed 4 KB plain-text message, as the parser would have stored it. */
export function parsedMessage(seq: number, to: string): ParsedMessage {
  return {
    ...emptyParsed(),
    from: { address: 'sender@bench-sender.test', name: 'Bench Sender' },
    to: [{ address: to, name: '' }],
    subject: subjectOf(seq),
    date: Date.now(),
    messageId: `<${seq}@bench-sender.test>`,
    headers: [
      { name: 'From', value: 'Bench Sender <sender@bench-sender.test>' },
      { name: 'To', value: `<${to}>` },
      { name: 'Subject', value: subjectOf(seq) },
      { name: 'Message-ID', value: `<${seq}@bench-sender.test>` },
    ],
    text: 'The quick brown fox jumps over the lazy dog while the mail queue keeps on moving along.\r\n'.repeat(44),
  };
}

/**
 * Stored messages with pending deliveries, written straight to the database in one
 * transaction (the raw blobs are not written: delivery reads rows only). `urls[i]` gets one
 * delivery per message; all are due now.
 */
export function seedPending(deps: Deps, owner: { userId: string; domainId: string }, messages: number, urls: string[], seqBase = 0): void {
  const now = Date.now();
  // SQLite's own statements in one transaction: the bench seeds many rows fast.
  const t = sqliteTables(deps.db!);
  deps.db!.transaction(() => {
    for (let i = 0; i < messages; i++) {
      const id = newId('msg', now);
      const to = `in${i % 50}@bench.test`;
      t.messages.insert(
        {
          id,
          userId: owner.userId,
          domainId: owner.domainId,
          envelope: { mailFrom: 'sender@bench-sender.test', rcptTo: [to], helo: 'bench.client.test', remoteIp: '127.0.0.1', tls: false },
          parsed: parsedMessage(seqBase + i, to),
          auth: {},
          size: 4096,
          rawKey: rawKey(id),
          parseError: null,
          receivedAt: now,
          purgedAt: null,
        },
        [],
      );
      t.messages.insertRecipient(id, to, owner.domainId);
      for (const url of urls) {
        t.deliveries.insert({ id: newId('dlv', now), userId: owner.userId, messageId: id, routeId: null, domainId: owner.domainId, url, secret: 'whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA==' }, now);
      }
    }
  })();
}
