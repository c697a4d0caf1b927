import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listensOn, PortTakenError, startChild, startListening, waitForPort, type Child } from '../../bench/lib/proc.js';

/**
 * The benches pick a port (freePort: listen on 0, close) and hand it to a child that binds it; in
 * between, anything may take it (session 9: EADDRINUSE once, the bench hung). A child that cannot
 * bind must not be taken for listening because someone else answers on its port, and the start is
 * tried again on fresh ports.
 */
const listener = (port: number) => startChild(process.execPath, ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`]);

let intruder: net.Server | undefined;
const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop('SIGKILL');
  await new Promise((r) => (intruder ? intruder.close(r) : r(undefined)));
  intruder = undefined;
});

async function takePort(): Promise<number> {
  intruder = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => intruder!.listen(0, '127.0.0.1', r));
  return (intruder.address() as AddressInfo).port;
}

describe('bench children and their ports', () => {
  it('waitForPort does not take another process listening on the port for the child: the child exits, PortTakenError', async () => {
    const taken = await takePort();
    const child = listener(taken);
    children.push(child);
    await expect(waitForPort(taken, 10_000, child)).rejects.toBeInstanceOf(PortTakenError);
  });

  it('startListening starts the child again on a fresh port when its port was taken before it bound it', async () => {
    const taken = await takePort();
    const { child, ports } = await startListening(1, ([p]) => listener(p!), { first: [taken] });
    children.push(child);
    expect(ports[0]).not.toBe(taken);
    expect(listensOn(child.pid, ports[0]!)).toBe(true);
    expect(listensOn(child.pid, taken)).toBe(false);
  });
});
