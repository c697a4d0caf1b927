import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Deps } from '../deps.js';
import { SmtpError } from '../errors.js';
import { acceptInbound, type AuthCheck } from '../inbound/accept.js';
import type { SpamCheck } from '../inbound/spam-check.js';
import { spool, spoolDir, type Spool } from '../inbound/spool.js';
import { applyDsn, isBounceRecipient } from '../send/bounce.js';

/** A DSN is a short report (RFC 3464); one larger than this is read only this far. */
const MAX_DSN_BYTES = 1024 * 1024;

async function head(file: Pick<Spool, 'buffer' | 'open'>, max: number): Promise<string> {
  if (file.buffer) return file.buffer.subarray(0, max).toString('utf8');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of file.open()) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= max) break;
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

export interface ReceiveHooks {
  checkAuth?: AuthCheck;
  /** SPAM_FILTER: asked before the 250, bounded (src/inbound/spam-check.ts). */
  checkSpam?: SpamCheck;
  /** Called after a commit that stored a message or applied a DSN: main.ts wakes the outbound worker (forwards, send events). */
  onStored?: () => void;
}

/**
 * DATA: 552 when over size, 451 for any failure of ours, 250 only once acceptInbound has
 * committed — the reply names the stored message ids.
 */
export function receiveMessage(deps: Deps, hooks: ReceiveHooks = {}) {
  const dir = spoolDir(deps.config.dataDir);
  return (stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) => {
    const run = async (): Promise<string> => {
      const file = await spool(dir, stream, deps.config.spoolMemoryBytes, deps.config.maxMessageBytes);
      try {
        if (stream.sizeExceeded) throw new SmtpError(552, 'Message too big');
        const all = session.envelope.rcptTo.map((r) => r.address);
        // Bounce addresses were accepted at RCPT only for existing sends: their DSN updates the send, nothing is stored.
        const bounce = await Promise.all(all.map((a) => isBounceRecipient(deps, a)));
        const bounces = all.filter((_, i) => bounce[i]);
        if (bounces.length > 0) {
          const text = await head(file, MAX_DSN_BYTES);
          for (const a of bounces) await applyDsn(deps, a, text);
          hooks.onStored?.();
        }
        const rcptTo = all.filter((a) => !bounces.includes(a));
        if (rcptTo.length === 0) return 'Ok: report received';
        const ids = await acceptInbound(
          deps,
          {
            raw: file,
            size: file.size,
            envelope: {
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              rcptTo,
              helo: session.hostNameAppearsAs ?? '',
              remoteIp: session.remoteAddress,
              tls: session.secure,
            },
          },
          hooks.checkAuth,
          hooks.checkSpam,
        );
        deps.metrics.messagesStored.inc(ids.length);
        hooks.onStored?.();
        return ids.length > 0 ? `Ok: queued as ${ids.join(' ')}` : 'Ok: accepted';
      } finally {
        await file.remove();
      }
    };
    run().then(
      (reply) => callback(null, reply),
      (err: unknown) => {
        if (err instanceof SmtpError) return callback(err);
        deps.log.error('message not stored', { err, remoteIp: session.remoteAddress });
        callback(new SmtpError(451, 'Temporary failure storing the message, try again later'));
      },
    );
  };
}
