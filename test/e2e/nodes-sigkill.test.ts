import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeps } from '../../src/deps.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { attemptsOf, missingObjects, overlapsAcrossNodes, receiverOverlaps, twoXxPerId, waitUntil } from '../helpers/nodes.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// DESIGN §10, proven with real processes: two nodes on one PostgreSQL and one bucket (s3rver),
// mail sent round-robin to both SMTP ports, a receiver that answers 500 to every 7th request,
// node A killed with SIGKILL part-way, the senders moving on to B (as an MTA moves to the next
// equal-priority MX), then A restarted with the same settings.
const DOMAIN = 'nodes.test';
const SECRET = 'two-nodes-secret-two-nodes-secret-0123456789';
const ENV = {
  ALLOW_INSECURE_WEBHOOKS: 'true',
  AUTH_CHECKS: 'false',
  LOG_LEVEL: 'info',
  MX_HOST: 'mx.nodes.test',
  SECRET,
  // Every blob to the bucket, so "its objects" means objects in S3.
  INLINE_BLOB_BYTES: '0',
  // A short attempt timeout keeps the lease (timeout + 30 s) that a dead node leaves behind short.
  WEBHOOK_TIMEOUT_MS: '2000',
};
const SLOW = 300_000;

/**
 * A receiver that answers 500 to every 7th request, if it is the first for its webhook-id (the
 * retry comes ~30 s later; a second 500 would put it off for minutes more). Each answer comes
 * after `delayMs()`: a second until A is killed, so attempts are in flight when it dies, and
 * shorter after it. A 500 halves a node's limit for the destination (README "How many requests
 * your app gets at once"), so with one 500 in seven each node runs ~2–4 at a time: at a second
 * an answer, 1,000 deliveries took 165–200 s under CI's load, the whole of the wait below.
 */
function flaky(delayMs: () => number) {
  const seen = new Set<string>();
  return (i: number, req: ReceivedRequest) => {
    const id = String(req.headers['webhook-id']);
    const first = !seen.has(id);
    seen.add(id);
    return (i + 1) % 7 === 0 && first ? { status: 500, delayMs: delayMs() } : { delayMs: delayMs() };
  };
}

interface Node {
  name: 'A' | 'B';
  proc: MailhookProcess | null;
  dir: string;
}

/**
 * Sends `count` messages over `lanes` SMTP connections, lane k to node k % 2 (round-robin). A
 * message whose node is down or dies under it goes to the other node, as a sending MTA does with
 * equal-priority MX hosts. Returns the message ids that got a 250 (from "queued as msg_…").
 */
async function sendAll(nodes: Node[], count: number, lanes: number, onAck: (acked: number) => void): Promise<Map<string, string>> {
  const acked = new Map<string, string>(); // msg id → node name
  let next = 0;
  const send = async (n: number, prefer: number) => {
    for (let tries = 0; tries < 20; tries++) {
      const node = nodes[(prefer + tries) % 2]!;
      if (!node.proc) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: node.proc.smtpPort, secure: false, ignoreTLS: true });
      try {
        const info = await transport.sendMail({ from: 'a@sender.test', to: `in${n % 10}@${DOMAIN}`, subject: `nodes ${n}`, text: `message ${n}` });
        const id = /msg_\w+/.exec(info.response ?? '')?.[0];
        if (id) {
          acked.set(id, node.name);
          onAck(acked.size);
          return;
        }
      } catch {
        // refused or cut off: no 250, so the sender tries again (the other node first)
      } finally {
        transport.close();
      }
    }
    throw new Error(`message ${n}: no node took it`);
  };
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (next < count) await send(next++, lane % 2);
    }),
  );
  return acked;
}

describe('two nodes on one PostgreSQL and one bucket, one killed (SIGKILL) under load', () => {
  let cluster: PgCluster;
  let s3: S3Server;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    cluster = await startPgCluster();
    s3 = await startS3Server();
  }, SLOW);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await s3?.close();
    cluster?.stop();
  }, 60_000);

  /** A fresh database seeded with one domain whose every address goes to `receiver`; the env of its nodes. */
  async function setUp(receiver: WebhookReceiver) {
    const url = await cluster.createDatabase('nodes');
    const env = { ...ENV, ...s3.env, DATABASE_URL: url };
    const seedDir = mkdtempSync(join(tmpdir(), 'mailhook-nodes-seed-'));
    const deps = await createDeps(loadConfig({ ...env, DATA_DIR: seedDir, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, DOMAIN);
    await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: `*@${DOMAIN}`,
      action: 'webhook',
      destination: `${receiver.url}/hook`,
      secret: newWebhookSecret(),
      priority: 1,
      stop: true,
    });
    await deps.repos.close();
    rmSync(seedDir, { recursive: true, force: true });
    const db = new pg.Pool({ connectionString: url, max: 2 });
    cleanups.push(() => db.end());
    const nodes: Node[] = (['A', 'B'] as const).map((name) => {
      const dir = mkdtempSync(join(tmpdir(), `mailhook-node-${name}-`));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return { name, proc: null, dir };
    });
    const start = async (n: Node) => {
      n.proc = await startMailhook({ ...env, DATA_DIR: n.dir });
      const p = n.proc;
      cleanups.push(() => p.kill('SIGKILL'));
    };
    return { url, db, nodes, start };
  }

  /**
   * Waits until every acked message's deliveries are delivered; returns them. On failure, says
   * where the deliveries stood and what the nodes logged beyond info (the log lives in this
   * process only: a CI run keeps nothing else).
   */
  async function allDelivered(db: pg.Pool, acked: Map<string, string>, procs: () => MailhookProcess[]) {
    const ids = [...acked.keys()];
    const read = async () =>
      (await db.query<{ id: string; message_id: string; status: string; attempts: number }>('SELECT id, message_id, status, attempts FROM deliveries WHERE message_id = ANY($1)', [ids])).rows;
    try {
      await waitUntil(async () => {
        const rows = await read();
        return rows.length >= ids.length && rows.every((r) => r.status === 'delivered');
      }, 200_000);
    } catch (err) {
      const left = (await read()).filter((r) => r.status !== 'delivered');
      const attempts = await db.query('SELECT delivery_id, node_id, started_at, finished_at, status_code, error FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY id', [left.slice(0, 5).map((r) => r.id)]);
      const never = left.filter((r) => r.attempts === 0).length;
      const logged = procs().flatMap((p) => p.log().split('\n').filter((l) => /"level":"(warn|error|fatal)"/.test(l)).map((l) => `${p.nodeId} ${l.slice(0, 400)}`));
      throw new Error(
        `${(err as Error).message}: ${left.length} not delivered (${never} never attempted), e.g. ${JSON.stringify(attempts.rows)}\n` +
          `nodes logged (warn and above, last 20):\n${logged.slice(-20).join('\n')}`,
      );
    }
    return read();
  }

  it('delivers every 250 after node A is killed mid-load; duplicates only of attempts A had in flight; no overlapping attempts', { timeout: SLOW * 2 }, async () => {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    let delayMs = 1000;
    receiver.setDefault(flaky(() => delayMs));
    const { db, nodes, start } = await setUp(receiver);
    const [a, b] = nodes as [Node, Node];
    const procs: MailhookProcess[] = [];
    const started = async (n: Node) => {
      await start(n);
      procs.push(n.proc!);
    };
    await Promise.all([started(a), started(b)]);

    const COUNT = 1000;
    let killed: Promise<{ at: number; inflight: Set<string>; nodeIdA: string }> | null = null;
    let restarted: Promise<void> | null = null;
    const acked = await sendAll(nodes, COUNT, 8, (n) => {
      if (n >= COUNT * 0.4 && !killed) {
        const proc = a.proc!;
        a.proc = null;
        killed = (async () => {
          await proc.kill('SIGKILL');
          const at = Date.now();
          delayMs = 100;
          // What A had in flight: its attempt rows still open (written before each request, finished after it).
          const open = await db.query<{ delivery_id: string }>(
            'SELECT delivery_id FROM delivery_attempts WHERE finished_at IS NULL AND node_id = $1',
            [proc.nodeId],
          );
          return { at, inflight: new Set(open.rows.map((r) => r.delivery_id)), nodeIdA: proc.nodeId };
        })();
      }
      if (n >= COUNT * 0.7 && killed && !restarted) restarted = killed.then(() => started(a));
    });
    const kill = await killed!;
    await restarted;
    // The kill landed mid-flight (otherwise the duplicate checks below would prove nothing).
    expect(kill.inflight.size).toBeGreaterThan(0);
    expect(acked.size, 'every message got a 250 from one node or the other').toBe(COUNT);
    const viaB = [...acked.values()].filter((n) => n === 'B').length;
    expect(viaB).toBeGreaterThan(COUNT / 2); // B took A's share while A was down

    const deliveries = await allDelivered(db, acked, () => procs);
    // Every 250: the message row, its raw MIME in the bucket, its delivery delivered.
    const messages = await db.query<{ id: string }>('SELECT id FROM messages WHERE id = ANY($1)', [[...acked.keys()]]);
    expect(messages.rows.length).toBe(COUNT);
    expect(await missingObjects(s3, [...acked.keys()].map((id) => `msg/${id}/raw.eml`))).toEqual([]);
    expect(deliveries.filter((d) => d.status !== 'delivered')).toEqual([]);

    // Duplicates: a webhook-id answered 2xx more than once was in flight on A when it died.
    const deliveryIds = new Set(deliveries.map((d) => d.id));
    const twoXx = twoXxPerId(receiver.requests);
    for (const id of deliveryIds) expect(twoXx.get(id) ?? 0, id).toBeGreaterThanOrEqual(1);
    const duplicated = [...twoXx].filter(([, n]) => n > 1).map(([id]) => id);
    expect(duplicated.filter((id) => !kill.inflight.has(id))).toEqual([]);
    expect(duplicated.length).toBeLessThanOrEqual(kill.inflight.size);

    // Leases: no two attempts of one delivery ran at once on different nodes, by the attempt rows
    // (an attempt of the dead A ends at the kill at the latest) and by what the receiver saw.
    const attempts = await attemptsOf(db, [...deliveryIds]);
    expect(overlapsAcrossNodes(attempts, kill.nodeIdA, kill.at)).toEqual([]);
    expect(receiverOverlaps(receiver.requests)).toEqual([]);
    console.log(
      `two nodes: ${COUNT} sent, ${acked.size} 250s (${viaB} via B), ${receiver.requests.length} requests, ` +
        `${kill.inflight.size} in flight on A at the kill, ${duplicated.length} delivered twice`,
    );
  });

  it('without a kill, every delivery gets exactly one 2xx', { timeout: SLOW }, async () => {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    // Slow enough that both nodes have attempts of one destination in flight at once, and drains
    // 300 deliveries well within the wait at 2–4 a node.
    receiver.setDefault(flaky(() => 300));
    const { db, nodes, start } = await setUp(receiver);
    await Promise.all(nodes.map(start));
    const COUNT = 300;
    const acked = await sendAll(nodes, COUNT, 8, () => {});
    expect(acked.size).toBe(COUNT);
    const deliveries = await allDelivered(db, acked, () => nodes.map((n) => n.proc!));
    const twoXx = twoXxPerId(receiver.requests);
    expect(deliveries.map((d) => twoXx.get(d.id) ?? 0).filter((n) => n !== 1)).toEqual([]);
    expect([...twoXx.keys()].sort()).toEqual(deliveries.map((d) => d.id).sort());
    // Both nodes delivered: the queue is shared, not one node's.
    const byNode = await db.query<{ node_id: string }>('SELECT DISTINCT node_id FROM delivery_attempts');
    expect(byNode.rows.length).toBe(2);
    expect(receiverOverlaps(receiver.requests)).toEqual([]);
  });

  it('four nodes started at once on an empty database migrate it once, without errors', { timeout: SLOW }, async () => {
    const url = await cluster.createDatabase('fresh');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    cleanups.push(() => db.end());
    // An event trigger records every object a DDL command made, and which backend ran it: the
    // schema applied twice (or by two nodes racing) would show an object made twice or two backends.
    await db.query(`CREATE TABLE ddl_log (object TEXT, tag TEXT, pid INT)`);
    await db.query(`CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ddl_log SELECT object_identity, command_tag, pg_backend_pid() FROM pg_event_trigger_ddl_commands(); END $$`);
    await db.query('CREATE EVENT TRIGGER ddl_log ON ddl_command_end EXECUTE FUNCTION log_ddl()');
    await db.query('TRUNCATE ddl_log');

    const env = { ...ENV, ...s3.env, DATABASE_URL: url };
    const dirs = [1, 2, 3, 4].map((i) => mkdtempSync(join(tmpdir(), `mailhook-node-${i}-`)));
    cleanups.push(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    const started = await Promise.allSettled(dirs.map((dir) => startMailhook({ ...env, DATA_DIR: dir })));
    for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.kill('SIGKILL'));
    expect(started.filter((s) => s.status === 'rejected')).toEqual([]);
    const procs = started.map((s) => (s as PromiseFulfilledResult<MailhookProcess>).value);
    for (const p of procs) expect(p.log()).not.toMatch(/"level":"(error|fatal)"/);

    const made = (await db.query<{ object: string; tag: string; pid: number }>(`SELECT object, tag, pid FROM ddl_log WHERE object NOT LIKE '%schema_migrations%'`)).rows;
    expect(made.filter((r) => r.object === 'public.deliveries' && r.tag === 'CREATE TABLE')).toHaveLength(1);
    const seen = new Map<string, number>();
    for (const r of made) seen.set(`${r.tag} ${r.object}`, (seen.get(`${r.tag} ${r.object}`) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
    expect(new Set(made.map((r) => r.pid)).size).toBe(1);
    // All four serve the same database.
    for (const p of procs) {
      const res = await fetch(`http://127.0.0.1:${p.httpPort}/api/health`);
      expect(res.status).toBe(200);
    }
  });
});
