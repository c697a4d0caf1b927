/**
 * The outbound SMTP layer alone (src/send/transfer.ts): BENCH_TRANSFERS (3000) transfers of a
 * 4 KB message, 16 at once, to a local MX in a child process, after 500 not counted; prints the
 * CPU this process spent per message. Usage, to compare two checkouts:
 * node --import tsx bench/send-transfer.ts [path/to/src/send/transfer.ts]
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';

if (process.argv[2] === 'sink') {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _s, cb) {
      stream.on('data', () => {}).on('end', () => cb());
    },
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.server.address() as { port: number }).port));
} else {
  const mod = process.argv[2] ?? '../src/send/transfer.ts';
  const count = Number(process.env.BENCH_TRANSFERS ?? 3000);
  const { transfer, closeTransfers } = (await import(mod)) as typeof import('../src/send/transfer.js');
  const sink = fork(fileURLToPath(import.meta.url), ['sink'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => sink.once('message', (p) => resolve(p as number)));
  const raw = Buffer.from('From: a@example.com\r\nTo: b@dest.test\r\nSubject: x\r\n\r\n' + ('x'.repeat(76) + '\r\n').repeat(53));
  const via = { kind: 'mx' as const, mx: { host: 'mx.dest.test', ip: '127.0.0.1' }, port, helo: 'bench' };
  const run = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const r = await transfer({ mailFrom: 'b@example.com', recipients: [`r${next++}@dest.test`], raw }, via);
          if (r.results[0]!.code !== 250) throw new Error(JSON.stringify(r));
        }
      }),
    );
  };
  await run(500);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(count);
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  console.log(`${mod}: ${count} transfers, ${((cpu.user + cpu.system) / 1000 / count).toFixed(3)} ms CPU per message in this process, ${((count / ms) * 1000).toFixed(0)} msg/s`);
  closeTransfers();
  sink.kill();
}
