/**
 * The bench's DNS server (issue 14: benchmarks run with the default AUTH_CHECKS=true), in a
 * process of its own so that answers are never late behind the load client's event loop. It
 * answers at once: the bench sender's SPF (pass for 127.0.0.1) and DMARC policy, NXDOMAIN for
 * every other name (DKIM keys of unsigned mail are not asked for). Prints its "127.0.0.1:PORT".
 */
import { startDnsServer } from '../../src/dev/dns-server.js';

const dns = await startDnsServer([
  { name: 'bench-sender.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.1 -all' },
  { name: '_dmarc.bench-sender.test', type: 'TXT', value: 'v=DMARC1; p=none' },
]);
console.log(dns.address);
process.on('SIGTERM', () => void dns.close().then(() => process.exit(0)));
