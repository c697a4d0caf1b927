import type { DkimKey } from '../send/dkim-key.js';
import type { PayloadMode } from '../deliver/payload.js';
import type { Db } from './open.js';

export interface Domain {
  id: string;
  userId: string;
  name: string;
  status: 'pending' | 'verified';
  verificationToken: string;
  verifiedAt: number | null;
  lastCheck: unknown;
  webhookUrl: string | null;
  webhookSecret: string | null;
  /** What the catch-all webhook posts. */
  webhookPayload: PayloadMode;
  createdAt: number;
  /** Null for a domain added before sending existed, until its key is made. */
  dkim: DkimKey | null;
  /** When the DKIM record was first found published: from then on the domain may send. */
  dkimVerifiedAt: number | null;
}

export type NewDomain = Omit<Domain, 'lastCheck' | 'webhookPayload' | 'dkim' | 'dkimVerifiedAt'> & { dkim?: DkimKey | null };

interface Row {
  id: string;
  user_id: string;
  name: string;
  status: 'pending' | 'verified';
  verification_token: string;
  verified_at: number | null;
  last_check: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  webhook_payload: PayloadMode;
  created_at: number;
  dkim_selector: string | null;
  dkim_public_key: string | null;
  dkim_private_key: string | null;
  dkim_verified_at: number | null;
}

export const toDomain = (r: Row): Domain => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  status: r.status,
  verificationToken: r.verification_token,
  verifiedAt: r.verified_at,
  lastCheck: r.last_check ? JSON.parse(r.last_check) : null,
  webhookUrl: r.webhook_url,
  webhookSecret: r.webhook_secret,
  webhookPayload: r.webhook_payload,
  createdAt: r.created_at,
  dkim:
    r.dkim_selector && r.dkim_public_key && r.dkim_private_key
      ? { selector: r.dkim_selector, publicKey: r.dkim_public_key, privateKeySealed: r.dkim_private_key }
      : null,
  dkimVerifiedAt: r.dkim_verified_at,
});

export function domainsTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO domains (id, user_id, name, status, verification_token, verified_at, webhook_url, webhook_secret, created_at,
       dkim_selector, dkim_public_key, dkim_private_key)
     VALUES (@id, @userId, @name, @status, @verificationToken, @verifiedAt, @webhookUrl, @webhookSecret, @createdAt,
       @selector, @publicKey, @privateKeySealed)`,
  );
  const byId = db.prepare<[string, string], Row>('SELECT * FROM domains WHERE id = ? AND user_id = ?');
  const byIdAny = db.prepare<[string], Row>('SELECT * FROM domains WHERE id = ?');
  const byUser = db.prepare<{ userId: string; before: string; limit: number }, Row>(
    'SELECT * FROM domains WHERE user_id = @userId AND id < @before ORDER BY id DESC LIMIT @limit',
  );
  const byUserAndName = db.prepare<[string, string], Row>('SELECT * FROM domains WHERE user_id = ? AND name = ?');
  const verifiedByName = db.prepare<[string], Row>("SELECT * FROM domains WHERE name = ? AND status = 'verified'");
  const setStatus = db.prepare(
    'UPDATE domains SET status = @status, verified_at = @verifiedAt, last_check = @lastCheck WHERE id = @id',
  );
  const setWebhook = db.prepare(
    'UPDATE domains SET webhook_url = @url, webhook_secret = @secret, webhook_payload = @payload WHERE id = @id',
  );
  const remove = db.prepare('DELETE FROM domains WHERE id = ? AND user_id = ?');
  const setDkim = db.prepare(
    `UPDATE domains SET dkim_selector = @selector, dkim_public_key = @publicKey, dkim_private_key = @privateKeySealed
     WHERE id = @id AND dkim_private_key IS NULL`,
  );
  const setDkimVerified = db.prepare('UPDATE domains SET dkim_verified_at = @at WHERE id = @id AND dkim_verified_at IS NULL');
  return {
    insert(d: NewDomain): void {
      const { dkim, ...rest } = d;
      insert.run({ ...rest, selector: dkim?.selector ?? null, publicKey: dkim?.publicKey ?? null, privateKeySealed: dkim?.privateKeySealed ?? null });
    },
    /** Stores a key unless the domain already has one (the first writer wins). */
    setDkimKey(id: string, key: DkimKey): void {
      setDkim.run({ id, ...key });
    },
    /** Kept once set: a DNS hiccup at a later check must not stop a domain's mail going out. */
    setDkimVerified(id: string, at: number): void {
      setDkimVerified.run({ id, at });
    },
    /** Scoped by owner: another user's domain is null, like a missing one. */
    get(userId: string, id: string): Domain | null {
      const r = byId.get(id, userId);
      return r ? toDomain(r) : null;
    },
    getById(id: string): Domain | null {
      const r = byIdAny.get(id);
      return r ? toDomain(r) : null;
    },
    list(userId: string, opts: { before?: string; limit: number }): Domain[] {
      return byUser.all({ userId, before: opts.before ?? '\uffff', limit: opts.limit }).map(toDomain);
    },
    getByName(userId: string, name: string): Domain | null {
      const r = byUserAndName.get(userId, name);
      return r ? toDomain(r) : null;
    },
    /** The one verified domain of that name, whoever owns it: where its mail goes. */
    findVerified(name: string): Domain | null {
      const r = verifiedByName.get(name);
      return r ? toDomain(r) : null;
    },
    setStatus(id: string, status: Domain['status'], verifiedAt: number | null, lastCheck: unknown): void {
      setStatus.run({ id, status, verifiedAt, lastCheck: JSON.stringify(lastCheck ?? null) });
    },
    setWebhook(id: string, url: string | null, secret: string | null, payload: PayloadMode = 'json'): void {
      setWebhook.run({ id, url, secret, payload });
    },
    delete(userId: string, id: string): boolean {
      return remove.run(id, userId).changes > 0;
    },
  };
}
