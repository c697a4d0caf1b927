import { createPrivateKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Domain } from '../db/domains.js';
import type { Deps } from '../deps.js';
import { open, seal } from './key-box.js';

const generate = promisify(generateKeyPair);
const PURPOSE = 'dkim-private-key';

export interface DkimKey {
  selector: string;
  /** base64 DER SubjectPublicKeyInfo: the p= tag of the DNS record (RFC 6376 §3.6.1). */
  publicKey: string;
  /** The PEM private key sealed with SECRET (key-box.ts). */
  privateKeySealed: string;
}

/**
 * A new RSA-2048 key pair (RFC 8301: at least 1024, 2048 recommended; 2048 still fits one TXT
 * record of several strings). Generated on the libuv pool, never on the event loop: it takes
 * tens to hundreds of milliseconds. The selector is random per domain, so a later rotation
 * publishes a second record beside the first instead of replacing it.
 */
export async function newDkimKey(secret: string): Promise<DkimKey> {
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    selector: `mh${randomBytes(4).toString('hex')}`,
    publicKey: publicKey.toString('base64'),
    privateKeySealed: seal(secret, PURPOSE, privateKey),
  };
}

export const dkimRecordName = (domain: string, selector: string) => `${selector}._domainkey.${domain}`;
export const dkimRecordValue = (publicKey: string) => `v=DKIM1; k=rsa; p=${publicKey}`;

export function dkimPrivateKey(secret: string, key: DkimKey): string {
  return open(secret, PURPOSE, key.privateKeySealed);
}

/**
 * Unsealed and parsed keys, by SECRET and sealed box: unsealing and parsing the PEM took longer
 * than signing (1–2 ms a message). A new key (rotation) is a new box, hence a new entry; the
 * bound keeps an instance with many sending domains from holding every key.
 */
const signingKeys = new Map<string, KeyObject>();
const MAX_SIGNING_KEYS = 1000;

/**
 * The same answer by the DkimKey object: a domain kept by the lookup cache (src/db/lookup-cache.ts)
 * is the same frozen object from one send to the next, so the ~3 KB id above is not built and
 * hashed again for each message.
 */
const byObject = new WeakMap<DkimKey, { secret: string; parsed: KeyObject }>();

export function dkimSigningKey(secret: string, key: DkimKey): KeyObject {
  const known = byObject.get(key);
  if (known?.secret === secret) return known.parsed;
  const id = `${secret}\0${key.privateKeySealed}`;
  let parsed = signingKeys.get(id);
  if (!parsed) {
    parsed = createPrivateKey(dkimPrivateKey(secret, key));
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    signingKeys.set(id, parsed);
  }
  // Only a frozen key cannot change under its entry.
  if (Object.isFrozen(key)) byObject.set(key, { secret, parsed });
  return parsed;
}

/**
 * Domains added before sending existed have no key: one is made the first time the domain is
 * read through the API (lazily, not in the migration, which has no SECRET and must stay fast).
 * The write keeps whichever key was stored first, so two concurrent reads agree.
 */
export async function ensureDkimKey(deps: Deps, domain: Domain): Promise<Domain> {
  if (domain.dkim) return domain;
  const key = await newDkimKey(deps.config.secret);
  await deps.repos.domains.setDkimKey(domain.id, key);
  return (await deps.repos.domains.getById(domain.id)) ?? domain;
}
