import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets kept at rest in the database (DKIM private keys), sealed with AES-256-GCM under a key
 * derived from SECRET: a copy of the database alone does not let anyone sign mail as a user's
 * domain. HKDF with a purpose label, so this key is never the one that signs links or sessions.
 */
const VERSION = 'v1';

function keyFor(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `mailhook ${purpose}`, 32));
}

export function seal(secret: string, purpose: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secret, purpose), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

/** Throws when the box was sealed under another SECRET or tampered with (GCM tag mismatch). */
export function open(secret: string, purpose: string, box: string): string {
  const [version, iv, tag, body] = box.split('.');
  if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('unreadable sealed value');
  const decipher = createDecipheriv('aes-256-gcm', keyFor(secret, purpose), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
