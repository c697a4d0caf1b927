import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * smtp-server waits 100 ms before the 220 banner and refuses a client that talks before it ("421
 * You talk too soon"): a bot that pipelines blindly is caught, a real MTA waits for the banner
 * (RFC 5321 §4.3.1). The 100 ms is fixed inside its `SMTPConnection.init()`; DESIGN §2 keeps it
 * configurable (SMTP_GREETING_DELAY_MS): 0 for a listener behind a filter that already did this,
 * a few seconds for Postfix postscreen's "greet wait" against spambots that do not wait.
 *
 * Installed on smtp-server's own connection class (the module smtp-server.js constructs it
 * from), read per connection from the server's options, so several servers in one process keep
 * their own delay. The body is init()'s (smtp-server 3.21) with the delay as a value;
 * test/smtp/greeting-delay.test.ts holds the timing, the early-talker refusal and the connection
 * cap that this body keeps.
 */
export const GREETING_DELAY_OPTION = 'mailhookGreetingDelayMs';

interface Connection {
  _server: { options: Record<string, unknown> & { maxClients?: number }; connections: Set<unknown> };
  name: string;
  _setListeners(callback: () => void): void;
  send(code: number, message: string, context?: false): void;
  connectionReady(): void;
}

let installed = false;

export function installGreetingDelay(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as Connection & { init(): void };
  const init = proto.init;
  proto.init = function (this: Connection) {
    const delay = this._server.options[GREETING_DELAY_OPTION];
    if (typeof delay !== 'number') return init.call(this);
    this._setListeners(() => {
      const { maxClients } = this._server.options;
      if (maxClients && this._server.connections.size > maxClients) {
        return this.send(421, this.name + ' Too many connected clients, try again in a moment', false);
      }
      // unref: a connection waiting for its banner does not keep the process alive (as smtp-server's).
      setTimeout(() => this.connectionReady(), delay).unref();
    });
  };
}
