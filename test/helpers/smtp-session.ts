import net from 'node:net';

/** A hand-driven SMTP client: one command at a time, each reply read whole (multi-line included). */
export interface SmtpSession {
  /** Resolves with the next complete reply ("250 …", the last line of a multi-line one), or "closed". */
  reply(): Promise<string>;
  /** Writes `line` + CRLF and resolves with its reply. */
  command(line: string): Promise<string>;
  write(data: string): void;
  close(): void;
}

export function smtpSession(port: number, host = '127.0.0.1'): SmtpSession {
  const socket = net.connect(port, host);
  let buf = '';
  const replies: string[] = [];
  const waiting: ((r: string) => void)[] = [];
  let closed = false;
  const deliver = (r: string) => {
    const w = waiting.shift();
    if (w) w(r);
    else replies.push(r);
  };
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i: number;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (/^\d{3} /.test(line)) deliver(line);
    }
  });
  const end = () => {
    closed = true;
    while (waiting.length) waiting.shift()!('closed');
  };
  socket.on('close', end);
  socket.on('error', end);
  const reply = () => {
    if (replies.length) return Promise.resolve(replies.shift()!);
    if (closed) return Promise.resolve('closed');
    return new Promise<string>((resolve) => waiting.push(resolve));
  };
  return {
    reply,
    command(line) {
      socket.write(`${line}\r\n`);
      return reply();
    },
    write: (data) => void socket.write(data),
    close: () => socket.destroy(),
  };
}
