import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { SmtpError } from '../errors.js';
import { acceptRecipient } from './accept-recipient.js';
import { GREETING_DELAY_OPTION, installGreetingDelay } from './greeting-delay.js';
import { receiveMessage, type ReceiveHooks } from './receive-message.js';
import { replyClass } from '../ops/metrics.js';

/** What we use of smtp-server's connection objects (public on `server.connections`). */
interface Connection {
  id: string;
  /** Unset until the connection is set up; envelope.mailFrom is set from MAIL until the transaction ends. */
  session?: SMTPServerSession;
  /** `context` false: the text carries its own enhanced status code. A 421 also closes. */
  send(code: number, message: string, context?: false): void;
}

export interface MailServer {
  listen(port: number, host?: string): Promise<number>;
  /**
   * Graceful stop: new connections and new transactions get 421 4.3.2; transactions in progress
   * may finish within `timeoutMs`, after which whatever is left gets 421 (never a 250 it did
   * not earn: the sender retries). Resolves once no session is left and the listener is closed.
   */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** RFC 3463 4.3.2 "system not accepting network messages": the sender queues and retries. */
export const SHUTTING_DOWN = '4.3.2 Service shutting down, try again later';

/**
 * The protocol options of the MX listener, without handlers: no AUTH (we receive, we never
 * relay), STARTTLS when a certificate is set. Exported so the benchmark baselines run the very
 * same smtp-server configuration.
 */
export function smtpServerOptions(config: Readonly<Config>): SMTPServerOptions {
  return {
    name: config.mxHost,
    banner: 'Mailhook',
    authOptional: true,
    disabledCommands: config.tlsCert ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideSTARTTLS: !config.tlsCert,
    hideENHANCEDSTATUSCODES: false,
    ...(config.tlsCert && config.tlsKey ? { key: config.tlsKey, cert: config.tlsCert } : {}),
    size: config.maxMessageBytes,
    // Over-size mail is refused with 552 after the dot whatever happens in onData.
    rejectOversized: true,
    maxRecipients: config.maxRecipients,
    maxClients: config.maxConnections,
    socketTimeout: config.smtpIdleTimeoutMs,
    disableReverseLookup: !config.smtpReverseDns,
    // Read by greeting-delay.ts's init() (smtp-server keeps unknown options as given).
    ...{ [GREETING_DELAY_OPTION]: config.smtpGreetingDelayMs },
    // Behind a TCP proxy the socket's address is the proxy's; the PROXY header carries the
    // sender's. Required from every peer, since the proxy's own address is not ours to know; a
    // peer without a valid header is closed before any SMTP. When off, a "PROXY" line is just
    // an unknown command (500), so a client cannot choose its own address.
    useProxy: config.smtpProxyProtocol,
    logger: false,
  };
}

/**
 * Replies written in one turn of the event loop leave the socket in one write (issue 14). A
 * client that pipelines (RFC 2920; Postfix, the big providers and our bench all do) sends MAIL,
 * RCPT and DATA in one packet and got the 250, 250 and 354 as three write(2) calls, ~15 µs of
 * the main thread each under load; RFC 2920 §3.2 asks a server to send a group's replies
 * together. They are held until the end of the turn (setImmediate: the RCPT reply is written
 * from a promise, after process.nextTick callbacks have run), in order, and `end()` (every
 * close of smtp-server) sends what is held first. A 220 goes out at once: after STARTTLS's
 * 220 the socket is handed to TLS, so nothing may be left waiting in front of it.
 */
export function groupReplies(socket: Socket): void {
  const write = socket.write;
  let held = false;
  const release = () => {
    if (!held) return;
    held = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: unknown[]) {
    const urgent = typeof args[0] === 'string' && args[0].startsWith('220');
    if (!held && !urgent) {
      held = true;
      socket.cork();
      setImmediate(release);
    }
    const ok = (write as (...a: unknown[]) => boolean).apply(this, args);
    if (urgent) release();
    return ok;
  } as Socket['write'];
}

/** The MX listener: per-IP connection cap, RCPT checks (550), DATA (552 / 451 / 250). */
export function createSmtpServer(deps: Deps, hooks: ReceiveHooks = {}): MailServer {
  const { config, log } = deps;
  const perIp = new Map<string, number>();
  // The idle timeout restarts on every byte; this one does not, so a client dripping a byte a
  // minute (slowloris) still loses its connection once a transaction takes too long.
  const deadlines = new Map<string, NodeJS.Timeout>();
  const clearDeadline = (id: string) => {
    clearTimeout(deadlines.get(id));
    deadlines.delete(id);
  };
  const armDeadline = (id: string) => {
    clearDeadline(id);
    const timer = setTimeout(() => {
      deadlines.delete(id);
      const conn = connection(id);
      conn?.send(421, 'Transaction took too long, closing connection');
    }, config.smtpTransactionTimeoutMs);
    timer.unref();
    deadlines.set(id, timer);
  };
  const onData = receiveMessage(deps, hooks);
  let draining = false;
  const connections = () => (server as unknown as { connections: Set<Connection> }).connections;
  const connection = (id: string) => [...connections()].find((c) => c.id === id);
  const inTransaction = (c: Connection) => !!c.session?.envelope.mailFrom;

  const options: SMTPServerOptions = {
    ...smtpServerOptions(config),
    onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void) {
      // smtp-server calls this once the PROXY header (if required) has been read, so the cap
      // counts the sender's address, not the proxy's.
      const n = (perIp.get(session.remoteAddress) ?? 0) + 1;
      perIp.set(session.remoteAddress, n);
      if (draining) {
        deps.metrics.smtpConnections.inc({ result: 'refused' });
        return callback(new SmtpError(421, SHUTTING_DOWN));
      }
      if (n > config.maxConnectionsPerIp) {
        deps.metrics.smtpConnections.inc({ result: 'refused' });
        return callback(new SmtpError(421, 'Too many connections from your address, try again later'));
      }
      deps.metrics.smtpConnections.inc({ result: 'accepted' });
      armDeadline(session.id);
      callback();
    },
    onMailFrom(_address, session, callback) {
      // A session that was idle or between transactions when the stop began: no new transaction.
      // Sent here rather than as an error, which smtp-server would prefix with its own 4.4.2.
      if (draining) connection(session.id)?.send(421, SHUTTING_DOWN, false);
      callback();
    },
    onClose(session: SMTPServerSession) {
      clearDeadline(session.id);
      const n = (perIp.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perIp.delete(session.remoteAddress);
      else perIp.set(session.remoteAddress, n);
    },
    onRcptTo: acceptRecipient(deps),
    onData(stream, session, callback) {
      // Storing is our time, not the client's; the next transaction gets a fresh deadline.
      stream.once('end', () => {
        clearDeadline(session.id);
        deps.metrics.smtpBytes.inc((stream as unknown as { byteLength?: number }).byteLength ?? 0);
      });
      onData(stream, session, (err, message) => {
        armDeadline(session.id);
        deps.metrics.smtpTransactions.inc({ class: replyClass(err ? ((err as SmtpError).responseCode ?? 451) : 250) });
        callback(err, message);
        // The stop began during this transaction: it got its reply, and that is the last one.
        if (draining) connection(session.id)?.send(421, SHUTTING_DOWN, false);
      });
    },
  };
  installGreetingDelay();
  const server = new SMTPServer(options);
  server.on('error', (err) => log.warn('smtp error', { err }));
  // Before smtp-server's own listener, so that its first write (the greeting) already goes through it.
  server.server.prependListener('connection', groupReplies);

  return {
    listen(port, host = config.smtpHost) {
      return new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          resolve((server.server.address() as AddressInfo).port);
        });
      });
    },
    async drain(timeoutMs) {
      draining = true;
      const deadline = Date.now() + timeoutMs;
      for (const c of connections()) if (!inTransaction(c)) c.send(421, SHUTTING_DOWN, false);
      while (connections().size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const c of connections()) c.send(421, SHUTTING_DOWN, false);
      // The listener closes once the last socket has gone; a peer that never hangs up is not waited for.
      await Promise.race([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => setTimeout(resolve, Math.max(1000, deadline - Date.now())).unref()),
      ]);
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
