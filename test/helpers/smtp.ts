import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Deps } from '../../src/deps.js';
import { createSmtpServer, type MailServer } from '../../src/smtp/server.js';
import type { ReceiveHooks } from '../../src/smtp/receive-message.js';

export interface RunningSmtp {
  port: number;
  server: MailServer;
  transport: Transporter;
  close(): Promise<void>;
}

/** Our SMTP server on 127.0.0.1 (port 0 unless given), and a nodemailer client pointed at it. */
export async function startSmtp(deps: Deps, hooks: ReceiveHooks = {}, listenPort = 0): Promise<RunningSmtp> {
  const server = createSmtpServer(deps, hooks);
  const port = await server.listen(listenPort, '127.0.0.1');
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    pool: false,
  });
  return {
    port,
    server,
    transport,
    async close() {
      transport.close();
      await server.close();
    },
  };
}

/**
 * A raw SMTP conversation: writes `script` (exact bytes, pipelined), then collects every reply
 * line until the server closes or `idleMs` passes without new data.
 */
export function rawSmtp(port: number, script: string | Buffer, idleMs = 1500): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    let timer: NodeJS.Timeout;
    const done = () => {
      socket.destroy();
      resolve(buf.split('\r\n').filter(Boolean));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    let sent = false;
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      // Wait for the banner (smtp-server refuses early talkers) before pipelining the script.
      if (!sent && buf.includes('220 ')) {
        sent = true;
        socket.write(script);
      }
      arm();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(buf.split('\r\n').filter(Boolean));
    });
    socket.on('error', reject);
    arm();
  });
}

/** The three-digit codes of the replies, in order. */
export const codes = (lines: string[]) => lines.map((l) => Number(l.slice(0, 3)));
