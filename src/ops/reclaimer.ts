import type { Repository } from '../db/repository.js';
import { LEASE_EXPIRED } from '../db/deliveries.js';
import type { Logger } from '../log.js';
import { startSingleton, type Singleton } from './singleton.js';

/** How often the holder looks for attempts whose lease ran out, and how long its own lease lasts. */
const EVERY_MS = 15_000;
const LEASE_MS = 60_000;

/**
 * The lease reclaimer (DESIGN §10), a singleton on PostgreSQL: closes the attempts of nodes that
 * died mid-attempt once their lease has run out, webhook and outbound, so the API shows them
 * ended and their deliveries go to whichever node claims next. Attempts still under a live
 * node's lease are left alone. (A claim takes such a row over by itself too; this covers rows
 * no node claims soon, e.g. behind a busy destination's cap.) On SQLite the one process closes
 * them all at start instead (the workers' start()).
 */
export function startReclaimer(repos: Repository, o: { holder: string; now: () => number; log: Logger }): Singleton {
  return startSingleton(repos.leases, { name: 'reclaimer', holder: o.holder, everyMs: EVERY_MS, leaseMs: LEASE_MS, now: o.now, log: o.log }, async () => {
    const now = o.now();
    const webhook = await repos.deliveries.recoverInterrupted(now, LEASE_EXPIRED);
    const outbound = await repos.outbound.recoverInterrupted(now, LEASE_EXPIRED);
    if (webhook || outbound) o.log.warn('closed attempts of a node that stopped answering', { webhook, outbound });
  });
}
