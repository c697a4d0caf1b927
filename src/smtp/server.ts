import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Deps } from '../deps.js';
import { SmtpError } from '../errors.js';
import { acceptRecipient } from './accept-recipient.js';
import { receiveMessage, type ReceiveHooks } from './receive-message.js';

export interface MailServer {
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

/** The MX listener: no AUTH (we receive, we never relay), STARTTLS when a certificate is set. */
export function createSmtpServer(deps: Deps, hooks: ReceiveHooks = {}): MailServer {
  const { config, log } = deps;
  const perIp = new Map<string, number>();

  const options: SMTPServerOptions = {
    name: config.mxHost,
    banner: 'Mailhook ESMTP',
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
    logger: false,
    onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const n = (perIp.get(session.remoteAddress) ?? 0) + 1;
      perIp.set(session.remoteAddress, n);
      if (n > config.maxConnectionsPerIp) {
        return callback(new SmtpError(421, 'Too many connections from your address, try again later'));
      }
      callback();
    },
    onClose(session: SMTPServerSession) {
      const n = (perIp.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perIp.delete(session.remoteAddress);
      else perIp.set(session.remoteAddress, n);
    },
    onRcptTo: acceptRecipient(deps),
    onData: receiveMessage(deps, hooks),
  };
  const server = new SMTPServer(options);
  server.on('error', (err) => log.warn('smtp error', { err }));

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
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
