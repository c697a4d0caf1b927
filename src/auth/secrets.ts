import { createHash, randomBytes } from 'node:crypto';

/**
 * Session tokens, API keys, OAuth access and refresh tokens, OAuth client secrets: the prefix says
 * which, so a leaked one is recognisable in logs and scanners.
 */
export type TokenPrefix = 'mhs_' | 'mhk_' | 'mho_' | 'mhr_' | 'mhcs_';

/** 256 random bits, base64url: well above the 128 DESIGN §7 asks for. */
export function newToken(prefix: TokenPrefix): string {
  return prefix + randomBytes(32).toString('base64url');
}

/**
 * Tokens are stored as SHA-256 only: they are high-entropy, so a fast hash is enough, and a
 * database leak does not hand out working credentials.
 */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
