import { readFileSync, statSync } from 'node:fs';
import type { DnsRecord } from './dns-server.js';

const TYPES = new Set(['TXT', 'MX', 'A']);

/**
 * The records of a zone file: what POST /api/domains or GET /api/domains/:id answers (an object
 * with `records`), or a bare array of { type, name, value, priority? }. Throws with the reason.
 */
export function parseZone(text: string): DnsRecord[] {
  if (!text.trim()) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  const list = Array.isArray(json) ? json : (json as { records?: unknown } | null)?.records;
  if (!Array.isArray(list)) {
    const error = (json as { error?: unknown } | null)?.error;
    throw new Error(`expected { "records": [...] } or an array of records${typeof error === 'string' ? `; it holds an error: ${error}` : ''}`);
  }
  return list.map((r: Partial<Record<keyof DnsRecord, unknown>> | null, i): DnsRecord => {
    const type = typeof r?.type === 'string' ? r.type.toUpperCase() : '';
    if (!TYPES.has(type)) throw new Error(`records[${i}].type must be TXT, MX or A`);
    if (typeof r?.name !== 'string' || !r.name) throw new Error(`records[${i}].name must be a host name`);
    if (typeof r.value !== 'string') throw new Error(`records[${i}].value must be a string`);
    const priority = r.priority ?? 10;
    if (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > 65535) {
      throw new Error(`records[${i}].priority must be an integer 0..65535`);
    }
    return { type: type as DnsRecord['type'], name: r.name, value: r.value, priority: priority as number };
  });
}

/**
 * A reader for the zone file at `path`, cheap enough to call on every query: the file is parsed
 * again only when its size or modification time changed. A missing file has no records (every
 * name is NXDOMAIN); a bad one has none either and is reported once per version via `warn`.
 */
export function zoneFileReader(path: string, warn: (message: string) => void): () => DnsRecord[] {
  let version = '';
  let records: DnsRecord[] = [];
  return () => {
    let stamp: string;
    try {
      const s = statSync(path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === version) return records;
    version = stamp;
    records = [];
    if (stamp === 'missing') return records;
    try {
      records = parseZone(readFileSync(path, 'utf8'));
    } catch (err) {
      warn(`${path}: ${(err as Error).message}; answering as if it held no records`);
    }
    return records;
  };
}
