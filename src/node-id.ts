import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process among the nodes sharing one database (DESIGN §10): recorded on the attempts it
 * starts and the leases it holds. Host and pid say where to look; the random part keeps a
 * restarted process (same host, a reused pid) from passing for the one that died. At most 63
 * characters: PostgreSQL keeps that much of application_name, which carries it (src/db/pg/pool.ts).
 */
export const NODE_ID = `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(4).toString('hex')}`;
