import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpRelay } from '../config.js';
import type { MxHost } from './mx.js';
import { installDataStreamFastPath } from './nodemailer-fast.js';

// nodemailer (~14 MB of a process's memory) is loaded with the first message that goes out, not
// at start-up: a server that only receives never loads it (README, "Memory").
const load = createRequire(import.meta.url);
let Connection: typeof SMTPConnection | undefined;
const connectionClass = () => {
  if (!Connection) {
    // The message's dot-stuffing: a message that needs none is passed on without a loop over its bytes.
    const dataStream = load('nodemailer/lib/smtp-connection/data-stream') as { default?: { prototype: object }; prototype: object };
    installDataStreamFastPath((dataStream.default ?? dataStream).prototype as Parameters<typeof installDataStreamFastPath>[0]);
    Connection = load('nodemailer/lib/smtp-connection') as typeof SMTPConnection;
  }
  return Connection;
};

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
type SendInfo = { response?: string; rejectedErrors?: (SmtpError & { recipient?: string })[] };

type Via = { kind: 'mx'; mx: MxHost; port: number; helo: string } | { kind: 'relay'; relay: SmtpRelay; helo: string; verifyTls: boolean };

/**
 * Open connections are kept per server and reused by the next transactions, up to PER_SERVER at
 * once: a queue of many small messages to one MX then costs one TCP + TLS handshake per
 * connection, not per message. Idle ones close after the socket timeout, or when the server
 * closes them. This is nodemailer's SMTPConnection driven directly, not its Mailer and pool
 * (issue 12): a raw message needs none of the Mailer's compile steps, MimeNode, Message-IDs or
 * stream pipeline, which cost more CPU per message than the SMTP exchange itself.
 */
const PER_SERVER = 4;
/** Transactions over one connection before it is closed and a new one opened (nodemailer's pool had the same bound). */
const MAX_MESSAGES = 1000;

interface Kept {
  conn: SMTPConnection;
  busy: boolean;
  messages: number;
  dead: boolean;
}

/** The connection one transaction holds (or is opening), and whether its deadline has passed. */
interface Held {
  k: Kept | null;
  expired: boolean;
}

interface Server {
  options: ConstructorParameters<typeof SMTPConnection>[0];
  auth: { user: string; pass: string } | null;
  /** An MX: STARTTLS when offered, plaintext when it fails (a relay's TLS is never given up). */
  opportunistic: boolean;
  /** Until then, connections to this MX skip STARTTLS: its TLS handshake failed (TLS_FALLBACK_MS). */
  plainUntil: number;
  conns: Kept[];
  /** Transactions waiting for a connection (all PER_SERVER busy): handed one, a free slot, or null at shutdown. */
  waiting: ((k: Kept | 'open' | null) => void)[];
  closed: boolean;
}

const servers = new Map<string, Server>();

function serverFor(via: Via): Server {
  const key = via.kind === 'mx' ? `mx ${via.mx.ip}:${via.port} ${via.mx.host} ${via.helo}` : `relay ${via.relay.host}:${via.relay.port}`;
  let s = servers.get(key);
  if (!s) {
    s = { ...settings(via), opportunistic: via.kind === 'mx', plainUntil: 0, conns: [], waiting: [], closed: false };
    servers.set(key, s);
  }
  return s;
}

function settings(via: Via): Pick<Server, 'options' | 'auth'> {
  return via.kind === 'mx'
    ? {
        options: {
          host: via.mx.ip,
          port: via.port,
          secure: false,
          name: via.helo,
          // Opportunistic STARTTLS (RFC 3207) whenever offered; MX certificates are rarely valid
          // for the MX name, so, like other MTAs without DANE/MTA-STS, we encrypt without verifying.
          tls: { servername: via.mx.host, rejectUnauthorized: false },
          // STARTTLS refused (454): the session goes on in plaintext, as Postfix's "may" level does.
          opportunisticTLS: true,
          ...TIMEOUTS,
        },
        auth: null,
      }
    : {
        options: {
          host: via.relay.host,
          port: via.relay.port,
          secure: via.relay.secure,
          requireTLS: via.relay.requireTls,
          name: via.helo,
          tls: { rejectUnauthorized: via.verifyTls },
          ...TIMEOUTS,
        },
        auth: via.relay.user ? { user: via.relay.user, pass: via.relay.pass ?? '' } : null,
      };
}

/** Closes every kept connection (at shutdown); transactions waiting for one get none. */
export function closeTransfers(): void {
  for (const s of servers.values()) {
    s.closed = true;
    for (const k of [...s.conns]) drop(s, k);
    for (const w of s.waiting.splice(0)) w(null);
  }
  servers.clear();
}

function drop(s: Server, k: Kept): void {
  if (k.dead) return;
  k.dead = true;
  const i = s.conns.indexOf(k);
  if (i >= 0) s.conns.splice(i, 1);
  k.conn.close();
  // A slot freed: a waiting transaction opens a connection of its own.
  const next = s.waiting.shift();
  if (next) next(s.closed ? null : 'open');
}

/**
 * An idle kept connection, a new one while the server has fewer than PER_SERVER, else the first
 * one released (or a new one when one closes); null after closeTransfers().
 */
function acquire(s: Server, held: Held): Kept | Promise<Kept | null> | null {
  if (s.closed) return null;
  const idle = s.conns.find((k) => !k.busy && !k.dead);
  if (idle) {
    idle.busy = true;
    return (held.k = idle);
  }
  if (s.conns.length < PER_SERVER) return open(s, held);
  return new Promise((resolve, reject) =>
    s.waiting.push((k) => {
      if (k === 'open') open(s, held).then(resolve, reject);
      else resolve(k && (held.k = k));
    }),
  );
}

function release(s: Server, k: Kept): void {
  if (k.dead) return;
  if (k.messages >= MAX_MESSAGES) return drop(s, k);
  const next = s.waiting.shift();
  if (next) next(k);
  else k.busy = false;
}

/**
 * How long an MX whose TLS handshake failed gets plaintext connections without trying STARTTLS
 * again. Unverified opportunistic TLS (RFC 3207 §4.1, RFC 7435) only stands against passive
 * eavesdropping; an MX with a broken TLS stack would otherwise defer our mail until it bounces
 * after five days. Postfix at its "may" level retries such an MX in plaintext at the next
 * attempt; we reconnect at once, as KumoMTA's opportunistic_tls_reconnect_on_failed_handshake does.
 */
export const TLS_FALLBACK_MS = 60 * 60_000;

/**
 * Opens a connection counted against the server's PER_SERVER (EHLO, STARTTLS when offered, AUTH
 * for a relay). At an MX, a failed TLS handshake is followed at once by a plaintext connection.
 */
function open(s: Server, held: Held, plain = s.opportunistic && Date.now() < s.plainUntil): Promise<Kept> {
  const conn = new (connectionClass())(plain ? { ...s.options, ignoreTLS: true } : s.options);
  const k: Kept = { conn, busy: true, messages: 0, dead: false };
  held.k = k;
  s.conns.push(k);
  // An error or close while idle (socket timeout, the server closing it) retires the connection;
  // while a transaction is on it, its callback gets the same error.
  conn.on('error', () => {
    if (!k.busy) drop(s, k);
  });
  conn.once('end', () => drop(s, k));
  return new Promise((resolve, reject) => {
    const fail = (err: Error & { code?: string }) => {
      // nodemailer reports a failed handshake as ETLS, or as the TLS socket's own error while `upgrading`.
      const handshake = err.code === 'ETLS' || (conn as unknown as { upgrading?: boolean }).upgrading === true;
      if (handshake && s.opportunistic && !plain && !k.dead && !s.closed && !held.expired) {
        // Its slot passes to the plaintext connection, not to a waiting transaction.
        k.dead = true;
        s.conns.splice(s.conns.indexOf(k), 1);
        conn.close();
        s.plainUntil = Date.now() + TLS_FALLBACK_MS;
        return resolve(open(s, held, true));
      }
      drop(s, k);
      reject(err);
    };
    conn.once('error', fail);
    conn.connect((err) => {
      if (err) return fail(err);
      const ready = () => {
        conn.removeListener('error', fail);
        resolve(k);
      };
      if (!s.auth || !conn.allowsAuth) return ready();
      conn.login({ user: s.auth.user, credentials: { user: s.auth.user, pass: s.auth.pass } }, (loginErr) => (loginErr ? fail(loginErr) : ready()));
    });
  });
}

/**
 * One SMTP transaction on `k`. The message goes as a minimal pipe source so that a failure can
 * tell whether any of its bytes were handed to the connection. The connection's socket is corked
 * while the message is written: nodemailer's data stream writes the message, then the final
 * `.` line, both at once (end() runs _transform and _flush synchronously); corked, they leave in
 * one writev, not two writes (issue 12: a system call, and a wake-up of the server, less per
 * message).
 */
function sendOn(k: Kept, t: Transfer): Promise<{ info?: SendInfo; err?: SmtpError; started: boolean }> {
  return new Promise((resolve) => {
    let started = false;
    const source = {
      pipe(stream: NodeJS.WritableStream) {
        started = true;
        const socket = (k.conn as unknown as { _socket?: Socket })._socket;
        socket?.cork();
        try {
          stream.end(t.raw);
        } finally {
          socket?.uncork();
        }
        return stream;
      },
    };
    k.messages++;
    k.conn.send({ from: t.mailFrom, to: t.recipients }, source as unknown as Buffer, (err, info) =>
      resolve(err ? { err: err as SmtpError, started } : { info: info as SendInfo, started }),
    );
  });
}

const transient = (err: SmtpError) => err.responseCode === 421 || err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT';

/**
 * How long one transaction may take in all, from asking for a connection to the reply to the
 * message. socketTimeout is idle time only: a server that sends one byte a minute would hold
 * the transaction, its slot and its recipients' lease for ever. The outbound worker gives all
 * transactions of one attempt a common deadline within their lease (outbound-worker.ts).
 */
export const TRANSACTION_MS = 8 * 60_000;

/**
 * One SMTP transaction carrying every recipient of `t` to one server: one connection, one
 * MAIL FROM, a RCPT per recipient, the message once. Never throws: each recipient gets the code
 * that decided it (its RCPT reply, or the DATA reply), or null when the server was not reached
 * or gave no complete answer by `deadline` (a Date.now() time; its connection is then closed).
 */
export async function transfer(t: Transfer, via: Via, deadline = Date.now() + TRANSACTION_MS): Promise<{ results: RcptResult[]; connected: boolean }> {
  const s = serverFor(via);
  if (deadline <= Date.now()) return outcome(t, Object.assign(new Error('no time left before the deadline of the attempt'), { code: 'ETIMEDOUT' }));
  const held: Held = { k: null, expired: false };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ results: RcptResult[]; connected: boolean }>((resolve) => {
    timer = setTimeout(
      () => {
        held.expired = true;
        // Closing it ends whatever the server was still sending; the transaction's late callback finds it dead.
        if (held.k) drop(s, held.k);
        resolve(outcome(t, Object.assign(new Error('no complete answer before the deadline of the attempt'), { code: 'ETIMEDOUT' })));
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([transact(t, s, held), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function transact(t: Transfer, s: Server, held: Held): Promise<{ results: RcptResult[]; connected: boolean }> {
  // A kept connection the server closed just before it was used: once more on a new one, when
  // none of the message had gone out (as nodemailer's pool does).
  for (let tries = 0; ; tries++) {
    let k: Kept;
    try {
      const got = await acquire(s, held);
      if (got === null) return outcome(t, Object.assign(new Error('shutting down'), { code: 'ECONNECTION' }));
      k = got;
    } catch (err) {
      return outcome(t, err as SmtpError);
    }
    // The deadline passed while this waited for a connection: the message must not go out now.
    if (held.expired) {
      release(s, k);
      return outcome(t, Object.assign(new Error('deadline passed'), { code: 'ETIMEDOUT' }));
    }
    const reused = k.messages > 0;
    const { info, err, started } = await sendOn(k, t);
    if (!err) {
      release(s, k);
      return outcome(t, null, info);
    }
    if (reused && !started && transient(err) && tries === 0 && !held.expired) {
      drop(s, k);
      continue;
    }
    if ((err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && err.responseCode !== 421 && !k.dead) {
      // The server refused this message, not the connection: reset the session and keep it.
      k.conn.reset((resetErr) => (resetErr ? drop(s, k) : release(s, k)));
    } else {
      drop(s, k);
    }
    return outcome(t, err);
  }
}

function outcome(t: Transfer, err: SmtpError | null, info?: SendInfo): { results: RcptResult[]; connected: boolean } {
  if (!err) {
    const rejected = new Map<string, SmtpError>();
    for (const e of info?.rejectedErrors ?? []) if (e.recipient) rejected.set(e.recipient.toLowerCase(), e);
    const response = String(info?.response ?? '250');
    const code = firstCode(response) ?? 250;
    return {
      connected: true,
      results: t.recipients.map((address) => {
        const e = rejected.get(address.toLowerCase());
        return e ? { address, code: e.responseCode ?? firstCode(replyOf(e)), reply: replyOf(e) } : { address, code, reply: response.slice(0, MAX_REPLY) };
      }),
    };
  }
  if (err.rejectedErrors?.length) {
    // Every RCPT was refused: each has its own reply.
    const byAddress = new Map(err.rejectedErrors.map((e) => [e.recipient?.toLowerCase(), e]));
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
