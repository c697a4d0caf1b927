import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RECORDER = fileURLToPath(new URL('./loaded-modules.mjs', import.meta.url));
export const SRC_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface RecordedMailhook {
  proc: ChildProcess;
  smtpPort: number;
  httpPort: number;
  /** The package names the process has loaded so far (from node_modules paths). */
  packages(): Promise<Set<string>>;
  /** Every module the process has loaded so far: file URLs (ESM) and paths (CommonJS). */
  modules(): Promise<string[]>;
  kill(): void;
}

const packagesIn = (urls: string[]) =>
  new Set(urls.flatMap((u) => [.../node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.slice(1, 2) ?? []]));

/**
 * Starts Mailhook (`script`, run with `execArgv`) as a real process with loaded-modules.mjs
 * preloaded, and resolves once both listeners are up.
 */
export function startRecorded(script: string, execArgv: string[], env: Record<string, string>): Promise<RecordedMailhook> {
  const proc = fork(script, [], {
    execArgv: [...execArgv, '--import', RECORDER],
    env: { ...process.env, SMTP_PORT: '0', HTTP_PORT: '0', SMTP_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`mailhook did not start:\n${stderr}`));
    }, 30_000);
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const line = stderr.split('\n').find((l) => l.includes('"mailhook started"'));
      if (!line) return;
      clearTimeout(timer);
      const modules = () =>
        new Promise<string[]>((res) => {
          proc.once('message', (m) => res(m as string[]));
          proc.send('loaded');
        });
      const { smtpPort, httpPort } = JSON.parse(line) as { smtpPort: number; httpPort: number };
      resolve({
        proc,
        smtpPort,
        httpPort,
        packages: async () => packagesIn(await modules()),
        modules,
        kill: () => void proc.kill('SIGKILL'),
      });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mailhook exited with ${code}:\n${stderr}`));
    });
  });
}
