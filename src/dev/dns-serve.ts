import { startDnsServer } from './dns-server.js';
import { zoneFileReader } from './zone-file.js';

const outcome = (type: string, result: number | 'NXDOMAIN') =>
  result === 'NXDOMAIN' ? 'NXDOMAIN (no such name)' : result === 0 ? `no ${type} record` : `${result} record${result > 1 ? 's' : ''}`;

/**
 * `mailhook dns serve`: answers on 127.0.0.1:`port` from the zone file, read again whenever it
 * changes, until SIGINT or SIGTERM. `print` gets one line when listening and one per query; `warn`
 * a zone file it cannot use.
 */
export async function serveZoneFile(zonePath: string, port: number, print: (line: string) => void, warn: (line: string) => void) {
  const server = await startDnsServer(zoneFileReader(zonePath, (m) => warn(`mailhook dns: ${m}`)), {
    port,
    onQuery: (q, result) => print(`mailhook dns: ${q.type} ${q.name} → ${outcome(q.type, result)}`),
  });
  print(`mailhook dns: answering on ${server.address} (UDP and TCP) from ${zonePath}; start Mailhook with DNS_SERVERS=${server.address}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
