import { createHash, timingSafeEqual } from 'node:crypto';
import { forbiddenReason } from '../net/ip-class.js';

export interface MetricsRequest {
  /** The socket's peer address; undefined when there is no socket (in-process requests). */
  peer: string | undefined;
  authorization: string | undefined;
  /** METRICS_TOKEN, or null. */
  token: string | null;
  /**
   * The dedicated METRICS_PORT listener: peers on a private network (RFC 1918, unique local such
   * as Fly's fdaa::/16 6PN, CGNAT) pass too, since Fly's scraper sends no token.
   */
  privateListener: boolean;
}

const LOOPBACK = /^(IPv4-mapped form of a )?loopback$/;
const PRIVATE = /^(IPv4-mapped form of a )?(loopback|private \(RFC 1918\)|unique local|carrier-grade NAT \(100\.64\.0\.0\/10\))$/;
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may read /metrics. Only the socket's own address counts, never a forwarded header: a
 * proxy on this host makes every request loopback, so such setups set METRICS_TOKEN and block
 * /metrics at the proxy (README "Operations").
 */
export function metricsAllowed(r: MetricsRequest): boolean {
  const reason = r.peer === undefined ? null : forbiddenReason(r.peer);
  if (r.peer !== undefined && reason !== null && (r.privateListener ? PRIVATE : LOOPBACK).test(reason)) return true;
  if (r.token === null) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(r.authorization ?? '');
  // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
  return m !== null && timingSafeEqual(digest(m[1]!), digest(r.token));
}
