import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  secure: boolean;
  user: string | null;
  at: number;
}

export interface MxServer {
  port: number;
  mails: ReceivedMail[];
  /** Sessions that connected (one per SMTP connection). */
  connections: number;
  /** Reply to RCPT TO for an address: a code+text to refuse it, or undefined to accept. Set per test. */
  onRcpt: (address: string) => { code: number; message: string } | undefined;
  /** Reply to the end of DATA: an error to refuse, undefined to accept. */
  onData: (mail: ReceivedMail) => { code: number; message: string } | undefined;
  /** Delay before answering DATA, in ms (a slow MX). */
  dataDelayMs: number;
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

const refusal = (r: { code: number; message: string }) => Object.assign(new Error(r.message), { responseCode: r.code });

/** A destination MX on 127.0.0.1, port 0: smtp-server collecting what arrives. */
export async function startMxServer(opts: Partial<SMTPServerOptions> = {}): Promise<MxServer> {
  const waiters: { n: number; resolve: () => void }[] = [];
  const mx: MxServer = {
    port: 0,
    mails: [],
    connections: 0,
    onRcpt: () => undefined,
    onData: () => undefined,
    dataDelayMs: 0,
    async waitFor(n, timeoutMs = 20_000) {
      if (mx.mails.length < n) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`MX got ${mx.mails.length} of ${n} messages`)), timeoutMs);
          waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
        });
      }
      return mx.mails;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: opts.secure === undefined && !opts.key ? ['STARTTLS', 'AUTH'] : [],
    logger: false,
    onConnect(_s, cb) {
      mx.connections++;
      cb();
    },
    onRcptTo(address, _s, cb) {
      const r = mx.onRcpt(address.address);
      cb(r ? refusal(r) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail: ReceivedMail = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
          user: (session.user as string | undefined) ?? null,
          at: Date.now(),
        };
        setTimeout(() => {
          const r = mx.onData(mail);
          if (r) return cb(refusal(r));
          mx.mails.push(mail);
          for (const w of waiters.filter((w) => mx.mails.length >= w.n)) w.resolve();
          cb();
        }, mx.dataDelayMs);
      });
    },
    ...opts,
  });
  // A client that dies mid-transaction (the crash tests SIGKILL Mailhook) resets its socket:
  // smtp-server reports that on the server, where nobody listening would make it uncaught.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mx.port = (server.server.address() as AddressInfo).port;
  return mx;
}
