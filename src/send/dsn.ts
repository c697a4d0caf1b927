/** One per-recipient block of a delivery status notification (RFC 3464 §2.3). */
export interface DsnRecipient {
  /** Final-Recipient (or Original-Recipient) address, lower-case. */
  address: string;
  /** failed | delayed | delivered | relayed | expanded */
  action: string;
  /** The enhanced status code, e.g. 5.1.1 (RFC 3463). */
  status: string;
  /** Diagnostic-Code without its type, e.g. "550 5.1.1 no such user". */
  diagnostic: string;
}

/** Header-style fields of one block, continuation lines unfolded, names lower-case. */
function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m && !out.has(m[1]!.toLowerCase())) out.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return out;
}

const addressOf = (v: string | undefined) => (v ? v.replace(/^[^;]*;\s*/, '').replace(/^<|>$/g, '').trim().toLowerCase() : '');

/**
 * Recipient blocks read from one report. A DSN to one of our addresses is about one transaction,
 * of at most 50 recipients (MAX_RECIPIENTS); a report of thousands is no MTA's, and reading all
 * of 1 MiB of them held the event loop (test/hostile/send-dsn-event-loop-stall.test.ts).
 */
export const MAX_REPORTED = 1000;

/**
 * The recipients a DSN reports on. The message/delivery-status part is a per-message block then
 * one block per recipient, separated by blank lines. Deliberately lenient: reports come from
 * many MTAs; anything unreadable yields no entries (and so changes nothing).
 */
export function parseDsn(raw: string): DsnRecipient[] {
  const at = raw.search(/^content-type:\s*message\/(?:global-)?delivery-status/im);
  if (at < 0) return [];
  const rest = raw.slice(at);
  const bodyStart = rest.search(/\r?\n\r?\n/);
  if (bodyStart < 0) return [];
  const body = rest.slice(bodyStart).replace(/^\s+/, '');
  const end = body.search(/^--/m);
  // The per-message block, then at most MAX_REPORTED recipients: the rest of a larger report is not read.
  const blocks = (end >= 0 ? body.slice(0, end) : body).split(/\r?\n\s*\r?\n/, MAX_REPORTED + 1);
  const out: DsnRecipient[] = [];
  for (const block of blocks.slice(1)) {
    const f = fields(block);
    const address = addressOf(f.get('final-recipient') ?? f.get('original-recipient'));
    if (!address) continue;
    out.push({
      address,
      action: (f.get('action') ?? '').toLowerCase(),
      status: /\d\.\d{1,3}\.\d{1,3}/.exec(f.get('status') ?? '')?.[0] ?? '',
      diagnostic: (f.get('diagnostic-code') ?? '').replace(/^[^;]*;\s*/, '').slice(0, 1024),
    });
  }
  return out;
}

/** A permanent failure: Action failed, or a 5.x.x status whatever the action says. */
export const isHardBounce = (r: DsnRecipient) => r.action === 'failed' || r.status.startsWith('5.');
