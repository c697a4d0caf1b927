import type { PayloadMode } from '../deliver/payload.js';
import type { SpamFilter } from '../route/spam-filter.js';
import type { Db } from './open.js';

export type RouteAction = 'webhook' | 'store' | 'drop' | 'reject' | 'forward';

/** Each present filter must hold. Values are patterns: see src/route/match.ts. */
export interface RouteFilters {
  from?: string;
  subject?: string;
  header?: { name: string; value: string };
  /** Holds on the spam filter's verdict (src/route/spam-filter.ts): 'spam', 'reject', or a minimum score. */
  spam?: SpamFilter;
}

export interface Route {
  id: string;
  userId: string;
  domainId: string;
  match: string;
  action: RouteAction;
  destination: string | null;
  secret: string | null;
  priority: number;
  stop: boolean;
  filters: RouteFilters | null;
  enabled: boolean;
  /** What a webhook route posts; 'json' (the default) for other actions. */
  payload?: PayloadMode;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  user_id: string;
  domain_id: string;
  match: string;
  action: RouteAction;
  destination: string | null;
  secret: string | null;
  priority: number;
  stop: number;
  filters: string | null;
  enabled: number;
  payload: PayloadMode;
  created_at: number;
  updated_at: number;
}

export const toRoute = (r: Row): Route => ({
  id: r.id,
  userId: r.user_id,
  domainId: r.domain_id,
  match: r.match,
  action: r.action,
  destination: r.destination,
  secret: r.secret,
  priority: r.priority,
  stop: r.stop === 1,
  filters: r.filters ? (JSON.parse(r.filters) as RouteFilters) : null,
  enabled: r.enabled === 1,
  payload: r.payload,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toRow = (r: Route) => ({
  ...r,
  stop: r.stop ? 1 : 0,
  enabled: r.enabled ? 1 : 0,
  filters: r.filters ? JSON.stringify(r.filters) : null,
  payload: r.payload ?? 'json',
});

export function routesTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO routes (id, user_id, domain_id, match, action, destination, secret, priority, stop, filters, enabled, payload, created_at, updated_at)
     VALUES (@id, @userId, @domainId, @match, @action, @destination, @secret, @priority, @stop, @filters, @enabled, @payload, @createdAt, @updatedAt)`,
  );
  const update = db.prepare(
    `UPDATE routes SET match = @match, action = @action, destination = @destination, secret = @secret, priority = @priority,
       stop = @stop, filters = @filters, enabled = @enabled, payload = @payload, updated_at = @updatedAt WHERE id = @id AND user_id = @userId`,
  );
  const byId = db.prepare<[string, string], Row>('SELECT * FROM routes WHERE id = ? AND user_id = ?');
  const forDomain = db.prepare<[string], Row>(
    'SELECT * FROM routes WHERE domain_id = ? AND enabled = 1 ORDER BY priority ASC, id ASC',
  );
  const byUser = db.prepare<{ userId: string; domainId: string | null; before: string; limit: number }, Row>(
    `SELECT * FROM routes WHERE user_id = @userId AND (@domainId IS NULL OR domain_id = @domainId) AND id < @before
     ORDER BY id DESC LIMIT @limit`,
  );
  const remove = db.prepare('DELETE FROM routes WHERE id = ? AND user_id = ?');
  return {
    insert(r: Route): void {
      insert.run(toRow(r));
    },
    update(r: Route): void {
      update.run(toRow(r));
    },
    get(userId: string, id: string): Route | null {
      const r = byId.get(id, userId);
      return r ? toRoute(r) : null;
    },
    /** The enabled routes of a domain in the order they run. */
    enabledForDomain(domainId: string): Route[] {
      return forDomain.all(domainId).map(toRoute);
    },
    list(userId: string, opts: { domainId?: string; before?: string; limit: number }): Route[] {
      return byUser
        .all({ userId, domainId: opts.domainId ?? null, before: opts.before ?? '\uffff', limit: opts.limit })
        .map(toRoute);
    },
    delete(userId: string, id: string): boolean {
      return remove.run(id, userId).changes > 0;
    },
  };
}
