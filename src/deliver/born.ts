import { destinationOf, type Delivery, type NewDeliveryRow } from '../db/deliveries.js';

/**
 * First attempts born leased (issue 14): from acceptInbound to this node's running delivery
 * worker. Before storeInbound, a delivery whose destination has room in the worker's pools (or in
 * its bounded waiting line) is given a place and a lease; it is then written leased in the
 * message's own transaction with its attempt row (attempts 1, next_attempt_at = the lease's end),
 * and once that commit is durable the worker posts it from memory: no pass reads it back, no
 * claim commits before the request. Every other delivery (no room, a retry, after a restart,
 * another node's) goes through the worker's passes as before. A row written leased whose post
 * never ends (the process stopped) is due again when its lease ends; SQLite's start-up recovery
 * closes its open attempt and makes it due at once, as for any claimed row.
 */
export interface Place {
  readonly dest: string;
  /** The lease the row is written with: covers the wait for a slot, the attempt and its record. */
  readonly leaseUntil: number;
}

export interface BornLeased {
  /** Before the commit: a place for a first attempt to `dest`, counted in the pools from now, or null (the passes take it). */
  reserve(dest: string, now: number): Place | null;
  /** The row is durable, leased, with attempt `attemptId` open: post it (now or when its place in line comes). */
  start(place: Place, d: Delivery, attemptId: number): void;
  /** The row was not written, or not known durable: the place goes back, nothing is posted. */
  cancel(place: Place): void;
}

const byOwner = new WeakMap<object, BornLeased>();

/** The running worker of one repository (deps.repos), if any takes first attempts from memory. */
export function bornLeased(repos: object): BornLeased | undefined {
  return byOwner.get(repos);
}

/** The worker starts (b) or stops (undefined) taking first attempts from memory. */
export function setBornLeased(repos: object, b: BornLeased | undefined, current?: BornLeased): void {
  if (b) byOwner.set(repos, b);
  else if (byOwner.get(repos) === current) byOwner.delete(repos);
}

/** The row deliveries.insert wrote for `d` with `place`'s lease at `now`, as a claim would return it. */
export function leasedDelivery(d: NewDeliveryRow, place: Place, now: number): Delivery {
  return {
    id: d.id,
    userId: d.userId,
    messageId: d.messageId,
    routeId: d.routeId,
    domainId: d.domainId,
    url: d.url,
    secret: d.secret,
    payload: d.payload ?? 'json',
    dest: d.dest ?? destinationOf(d.url),
    status: 'pending',
    attempts: 1,
    nextAttemptAt: place.leaseUntil,
    lastStatus: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
}
