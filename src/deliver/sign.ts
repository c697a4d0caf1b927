import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A signing secret in the Standard Webhooks format: `whsec_` + base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** The HMAC key the `standardwebhooks` library derives: base64 after the `whsec_` prefix. */
function standardKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/**
 * The signature headers of one request (DESIGN §6).
 * - Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, timestamp in
 *   seconds, so the public `standardwebhooks` verifier accepts it and rejects replays.
 * - `x-mailhook-signature`: hex HMAC-SHA256 over the body alone, keyed with the whole secret
 *   string as UTF-8, for receivers that want GitHub's simpler scheme.
 * `id` must be the same on every attempt of a delivery, so receivers can de-duplicate.
 */
export function signatureHeaders(secret: string, id: string, timestampSec: number, body: string | Buffer): Record<string, string> {
  // The body as the bytes sent: hashed as is, not re-encoded (or copied into a bigger string) per HMAC.
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const v1 = createHmac('sha256', standardKey(secret)).update(`${id}.${timestampSec}.`).update(bytes).digest('base64');
  const simple = createHmac('sha256', secret).update(bytes).digest('hex');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': `v1,${v1}`,
    'x-mailhook-signature': `sha256=${simple}`,
  };
}
