import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type pg from 'pg';
import type { S3Server } from './s3-server.js';
import type { ReceivedRequest } from './webhook-receiver.js';

/** What the several-nodes tests (test/e2e/two-nodes.test.ts) check, kept apart from the run itself. */

export async function waitUntil(ready: () => Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Which of `keys` the bucket does not have (HEAD each, a few at a time). */
export async function missingObjects(s3: S3Server, keys: string[]): Promise<string[]> {
  const missing: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      try {
        await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
      } catch (err) {
        if ((err as { name?: string }).name !== 'NotFound') throw err;
        missing.push(key);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return missing;
}

/** How many 2xx answers each webhook-id got. */
export function twoXxPerId(requests: ReceivedRequest[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const r of requests) {
    if (r.status === null || r.status < 200 || r.status > 299) continue;
    const id = String(r.headers['webhook-id']);
    n.set(id, (n.get(id) ?? 0) + 1);
  }
  return n;
}

/** Two requests of one webhook-id open at the receiver at the same time (from the body's arrival to the answer's end). */
export function receiverOverlaps(requests: ReceivedRequest[]): string[] {
  const byId = new Map<string, ReceivedRequest[]>();
  for (const r of requests) {
    const id = String(r.headers['webhook-id']);
    byId.set(id, [...(byId.get(id) ?? []), r]);
  }
  const found: string[] = [];
  for (const [id, rs] of byId) {
    const sorted = [...rs].sort((x, y) => x.at - y.at);
    for (let i = 1; i < sorted.length; i++) {
      const prevEnd = sorted[i - 1]!.closedAt ?? Infinity;
      if (sorted[i]!.at < prevEnd) found.push(`${id}: request at ${sorted[i]!.at} while the one of ${sorted[i - 1]!.at} was open until ${prevEnd}`);
    }
  }
  return found;
}

export interface AttemptRow {
  id: number;
  delivery_id: string;
  node_id: string;
  started_at: number;
  finished_at: number | null;
}

export async function attemptsOf(db: pg.Pool, deliveryIds: string[]): Promise<AttemptRow[]> {
  const r = await db.query<AttemptRow>(
    'SELECT id, delivery_id, node_id, started_at, finished_at FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, started_at, id',
    [deliveryIds],
  );
  return r.rows.map((a) => ({ ...a, id: Number(a.id), started_at: Number(a.started_at), finished_at: a.finished_at === null ? null : Number(a.finished_at) }));
}

/**
 * Pairs of attempts of one delivery, on different nodes, whose times overlap. An attempt of the
 * killed node ends at the kill at the latest (its process was gone; a reclaimer may close the row
 * later); any other attempt still open counts as running until now.
 */
export function overlapsAcrossNodes(attempts: AttemptRow[], killedNode: string, killedAt: number): string[] {
  const end = (a: AttemptRow) => (a.node_id === killedNode ? Math.min(a.finished_at ?? killedAt, killedAt) : (a.finished_at ?? Date.now()));
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of attempts) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  const found: string[] = [];
  for (const [id, list] of byDelivery) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [x, y] = [list[i]!, list[j]!];
        if (x.node_id === y.node_id) continue;
        if (x.started_at < end(y) && y.started_at < end(x)) {
          found.push(`${id}: attempt ${x.id} on ${x.node_id} [${x.started_at}, ${end(x)}) and ${y.id} on ${y.node_id} [${y.started_at}, ${end(y)})`);
        }
      }
    }
  }
  return found;
}
