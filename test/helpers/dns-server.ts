/** The tests' DNS server is the one `mailhook dns serve` ships: see src/dev/dns-server.ts. */
export { startDnsServer, type DnsRecord, type DnsRecordType, type DnsServer as TestDnsServer } from '../../src/dev/dns-server.js';
