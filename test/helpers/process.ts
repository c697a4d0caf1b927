import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface MailhookProcess {
  child: ChildProcess;
  smtpPort: number;
  httpPort: number;
  /** Which node this process is in the attempt rows and leases of a shared database (DESIGN §10). */
  nodeId: string;
  /** Everything the process wrote to stderr so far (JSON log lines). */
  log(): string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts `src/main.ts` as a real process and resolves once both listeners are up. */
export function startMailhook(env: Record<string, string>): Promise<MailhookProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, SMTP_PORT: '0', HTTP_PORT: '0', SMTP_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`mailhook did not start:\n${stderr}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const line = stderr.split('\n').find((l) => l.includes('"mailhook started"'));
      if (!line) return;
      const { smtpPort, httpPort, nodeId } = JSON.parse(line) as { smtpPort: number; httpPort: number; nodeId: string };
      clearTimeout(timer);
      resolve({
        child,
        smtpPort,
        httpPort,
        nodeId,
        log: () => stderr,
        kill: (signal) => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mailhook exited with ${code}:\n${stderr}`));
    });
  });
}
