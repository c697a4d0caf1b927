import type { DnsRecord } from '../../src/dev/dns-server.js';
import { addDomain, markVerified, type TestApi } from './api.js';

export interface SendingDomain {
  id: string;
  name: string;
  records: { type: string; name: string; value: string; purpose: string }[];
  /** The DKIM TXT record as the loopback DNS server takes it. */
  dkimRecord: DnsRecord;
}

/**
 * A domain added over the API (so it has a real key pair) and marked verified for receiving and
 * sending straight in the database: the DNS side of verification is tested with real DNS in
 * test/send/sending-domain.test.ts.
 */
export async function sendingDomain(api: TestApi, token: string, name = 'example.com'): Promise<SendingDomain> {
  const d = (await addDomain(api, token, name)) as unknown as SendingDomain;
  await markVerified(api, d.id);
  await api.deps.repos.domains.setDkimVerified(d.id, api.deps.now());
  const dkim = d.records.find((r) => r.purpose === 'dkim')!;
  return { ...d, dkimRecord: { name: dkim.name, type: 'TXT', value: dkim.value } };
}

/** A mailauth resolver answering from fixed records (for verifying a signature without a DNS server). */
export function staticResolver(records: DnsRecord[]) {
  return async (name: string, type: string): Promise<string[][]> => {
    const found = records.filter((r) => r.name.toLowerCase() === name.toLowerCase() && r.type === type);
    if (!found.length) throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    return found.map((r) => [r.value]);
  };
}
