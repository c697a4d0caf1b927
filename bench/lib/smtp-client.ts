import net from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A minimal SMTP load client on node:net: persistent connections, EHLO once, then per message
 * `MAIL FROM` + `RCPT TO` + `DATA` pipelined (RFC 2920) and the body after the 354. Two round
 * trips per message, as an MTA reusing its connections does; smtp-server's 100 ms greeting
 * delay is paid once per connection.
 */
export interface LoadOptions {
  port: number;
  host?: string;
  connections: number;
  messages: number;
  /** The message bytes (CRLF line ends, no line starting with a dot), without the final dot. */
  message(seq: number): Buffer;
  rcptTo(seq: number): string;
  mailFrom?: string;
  /** Open loop: start message i at t0 + i / rate (seconds). Closed loop (as fast as the replies come) when unset. */
  ratePerSec?: number;
  /** Called with performance.now() when the 250 for message `seq` arrives. */
  onAccepted?(seq: number, at: number): void;
  /** Gives up on the run after this long. */
  timeoutMs?: number;
}

export interface LoadResult {
  accepted: number;
  /** Final replies other than 250, by code. */
  refused: Record<string, number>;
  errors: string[];
  startedAt: number;
  endedAt: number;
  /** performance.now() at the 250, by seq. */
  acceptedAt: Map<number, number>;
  /** Milliseconds from MAIL FROM to the 250 after the dot, per accepted message. */
  transactionMs: number[];
  /** performance.now() when MAIL FROM was written, by seq, for accepted messages. */
  sentAt: Map<number, number>;
}

class Conn {
  private buf = '';
  private lines: string[] = [];
  private waiters: ((reply: string) => void)[] = [];
  private failed: Error | null = null;
  private closeWaiters: ((err: Error) => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d.toString('latin1')));
    const fail = (err: Error) => {
      this.failed ??= err;
      for (const w of this.closeWaiters.splice(0)) w(this.failed);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(port: number, host: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private onData(text: string): void {
    this.buf += text;
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.lines.push(line);
      // A reply ends with a line whose fourth character is not '-'.
      if (line.charAt(3) !== '-') {
        const reply = this.lines.join('\n');
        this.lines = [];
        this.waiters.shift()?.(reply);
      }
    }
  }

  /** Resolves with the next whole reply (multi-line replies joined by \n). */
  reply(): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.closeWaiters.push(reject);
    });
  }

  async write(data: Buffer | string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.socket.write(data)) await new Promise<void>((r) => this.socket.once('drain', r));
  }

  close(): void {
    this.socket.end('QUIT\r\n');
    this.socket.destroySoon();
  }
}

const code = (reply: string) => reply.slice(0, 3);

/** Connects, waits for the banner and says EHLO. */
async function session(port: number, host: string): Promise<Conn> {
  const c = await Conn.open(port, host);
  const banner = c.reply();
  const greet = await banner;
  if (code(greet) !== '220') throw new Error(`banner: ${greet}`);
  const ehlo = c.reply();
  await c.write('EHLO bench.client.test\r\n');
  const r = await ehlo;
  if (code(r) !== '250') throw new Error(`EHLO: ${r}`);
  return c;
}

/** Sends one message on an open session; resolves with the final reply to DATA (or the refusal). */
async function sendOne(c: Conn, from: string, to: string, body: Buffer): Promise<string> {
  const replies = [c.reply(), c.reply(), c.reply()];
  await c.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
  const [mail, rcpt, data] = await Promise.all(replies);
  if (code(mail!) !== '250') return mail!;
  if (code(rcpt!) !== '250') return code(data!) === '354' ? abortData(c, rcpt!) : rcpt!;
  if (code(data!) !== '354') return data!;
  const done = c.reply();
  await c.write(body);
  await c.write(body.length && body[body.length - 1] === 0x0a ? '.\r\n' : '\r\n.\r\n');
  return done;
}

async function abortData(c: Conn, reply: string): Promise<string> {
  const done = c.reply();
  await c.write('.\r\n');
  await done;
  return reply;
}

/** Runs the load; resolves when every message got a final reply (or the run timed out). */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const host = o.host ?? '127.0.0.1';
  const from = o.mailFrom ?? 'sender@bench-sender.test';
  const result: LoadResult = { accepted: 0, refused: {}, errors: [], startedAt: 0, endedAt: 0, acceptedAt: new Map(), transactionMs: [], sentAt: new Map() };
  const conns = await Promise.all(Array.from({ length: o.connections }, () => session(o.port, host)));
  let next = 0;
  let timedOut = false;
  const deadline = setTimeout(() => (timedOut = true), o.timeoutMs ?? 600_000);
  result.startedAt = performance.now();
  const t0 = result.startedAt;

  const lane = async (c: Conn) => {
    while (!timedOut) {
      const seq = next++;
      if (seq >= o.messages) return;
      if (o.ratePerSec) {
        const wait = t0 + (seq * 1000) / o.ratePerSec - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      try {
        const body = o.message(seq);
        const sentAt = performance.now();
        const reply = await sendOne(c, from, o.rcptTo(seq), body);
        if (code(reply) === '250') {
          const at = performance.now();
          result.transactionMs.push(at - sentAt);
          result.accepted++;
          result.acceptedAt.set(seq, at);
          result.sentAt.set(seq, sentAt);
          o.onAccepted?.(seq, at);
        } else {
          result.refused[code(reply)] = (result.refused[code(reply)] ?? 0) + 1;
          if (Object.keys(result.refused).length === 1 && result.errors.length < 5) result.errors.push(reply);
        }
      } catch (err) {
        if (result.errors.length < 20) result.errors.push((err as Error).message);
        return;
      }
    }
  };
  await Promise.all(conns.map(lane));
  result.endedAt = performance.now();
  clearTimeout(deadline);
  for (const c of conns) c.close();
  return result;
}

/** One session, one message (big mail): resolves with the final reply. */
export async function sendMessage(port: number, to: string, body: Buffer, host = '127.0.0.1'): Promise<string> {
  const c = await session(port, host);
  try {
    return await sendOne(c, 'sender@bench-sender.test', to, body);
  } finally {
    c.close();
  }
}
