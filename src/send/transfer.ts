import { createRequire } from 'node:module';
import type { Transporter } from 'nodemailer';
import type { SmtpRelay } from '../config.js';
import type { MxHost } from './mx.js';

// nodemailer (~14 MB of a process's memory) is loaded with the first message that goes out, not
// at start-up: a server that only receives never loads it (README, "Memory").
const load = createRequire(import.meta.url);
let nodemailer: typeof import('nodemailer') | undefined;
const mailer = () => (nodemailer ??= load('nodemailer') as typeof import('nodemailer'));

/** One recipient's answer from one SMTP transaction. */
export interface RcptResult {
  address: string;
  /** The reply code that decided it; null when no reply came (connection, timeout). */
  code: number | null;
  reply: string;
}

export interface Transfer {
  mailFrom: string;
  recipients: string[];
  raw: Buffer;
}

/** RFC 5321 §4.5.3.2 suggests minutes per command; a few suffice and keep a dead MX from holding a slot. */
const TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 120_000 };
const MAX_REPLY = 1024;

const replyOf = (err: { response?: string; message?: string }) => (err.response ?? err.message ?? '').slice(0, MAX_REPLY);
const firstCode = (s: string) => (/^[2-5]\d\d/.test(s) ? Number(s.slice(0, 3)) : null);

type SmtpError = Error & { code?: string; responseCode?: number; response?: string; rejected?: string[]; rejectedErrors?: (SmtpError & { recipient?: string })[] };

type Via = { kind: 'mx'; mx: MxHost; port: number; helo: string } | { kind: 'relay'; relay: SmtpRelay; helo: string; verifyTls: boolean };

/**
 * Open connections are kept per server and reused by the next transactions (RSET between them),
 * up to PER_SERVER at once: a queue of many small messages to one MX then costs one TCP + TLS
 * handshake per connection, not per message. Idle ones close after the socket timeout.
 */
const PER_SERVER = 4;
const pools = new Map<string, Transporter>();

function transportFor(via: Via): Transporter {
  const key = via.kind === 'mx' ? `mx ${via.mx.ip}:${via.port} ${via.mx.host} ${via.helo}` : `relay ${via.relay.host}:${via.relay.port}`;
  let t = pools.get(key);
  if (!t) {
    t = create(via);
    pools.set(key, t);
  }
  return t;
}

/** Closes every kept connection (at shutdown). */
export function closeTransfers(): void {
  for (const t of pools.values()) t.close();
  pools.clear();
}

/**
 * One SMTP transaction carrying every recipient of `t` to one server: one connection, one
 * MAIL FROM, a RCPT per recipient, the message once. Never throws: each recipient gets the code
 * that decided it (its RCPT reply, or the DATA reply), or null when the server was not reached.
 */
export async function transfer(t: Transfer, via: Via): Promise<{ results: RcptResult[]; connected: boolean }> {
  const transport = transportFor(via);
  return run(transport, t);
}

function create(via: Via): Transporter {
  const pool = { pool: true as const, maxConnections: PER_SERVER, maxMessages: 1000 };
  return via.kind === 'mx'
      ? mailer().createTransport({
          host: via.mx.ip,
          port: via.port,
          secure: false,
          name: via.helo,
          // Opportunistic STARTTLS (RFC 3207) whenever offered; MX certificates are rarely valid
          // for the MX name, so, like other MTAs without DANE/MTA-STS, we encrypt without verifying.
          tls: { servername: via.mx.host, rejectUnauthorized: false },
          ...TIMEOUTS,
          ...pool,
        })
      : mailer().createTransport({
          host: via.relay.host,
          port: via.relay.port,
          secure: via.relay.secure,
          requireTLS: via.relay.requireTls,
          name: via.helo,
          auth: via.relay.user ? { user: via.relay.user, pass: via.relay.pass ?? '' } : undefined,
          tls: { rejectUnauthorized: via.verifyTls },
          ...TIMEOUTS,
          ...pool,
        });
}

async function run(transport: Transporter, t: Transfer): Promise<{ results: RcptResult[]; connected: boolean }> {
  try {
    const info = await transport.sendMail({ envelope: { from: t.mailFrom, to: t.recipients }, raw: t.raw });
    const rejected = new Map<string, SmtpError>();
    for (const e of ((info as unknown as { rejectedErrors?: SmtpError[] }).rejectedErrors ?? []) as (SmtpError & { recipient?: string })[]) {
      if (e.recipient) rejected.set(e.recipient.toLowerCase(), e);
    }
    const response = String((info as { response?: string }).response ?? '250');
    const code = firstCode(response) ?? 250;
    return {
      connected: true,
      results: t.recipients.map((address) => {
        const e = rejected.get(address.toLowerCase());
        return e ? { address, code: e.responseCode ?? firstCode(replyOf(e)), reply: replyOf(e) } : { address, code, reply: response.slice(0, MAX_REPLY) };
      }),
    };
  } catch (caught) {
    const err = caught as SmtpError;
    if (err.rejectedErrors?.length) {
      // Every RCPT was refused: each has its own reply.
      const byAddress = new Map(err.rejectedErrors.map((e) => [(e as { recipient?: string }).recipient?.toLowerCase(), e]));
      return {
        connected: true,
        results: t.recipients.map((address) => {
          const e = byAddress.get(address.toLowerCase()) ?? err;
          return { address, code: e.responseCode ?? null, reply: replyOf(e) };
        }),
      };
    }
    // MAIL FROM or DATA refused (the reply applies to all), or no server reached (code null).
    const code = err.responseCode ?? null;
    return { connected: code !== null, results: t.recipients.map((address) => ({ address, code, reply: code !== null ? replyOf(err) : `${err.code ?? 'error'}: ${err.message}`.slice(0, MAX_REPLY) })) };
  }
}
