import { deliveriesTable } from './deliveries.js';
import { domainsTable } from './domains.js';
import { messagesTable } from './messages.js';
import type { Db } from './open.js';
import { routesTable } from './routes.js';
import { usersTable } from './users.js';

/** Every table's prepared statements, made once per database. */
export function createRepos(db: Db) {
  return {
    users: usersTable(db),
    domains: domainsTable(db),
    routes: routesTable(db),
    messages: messagesTable(db),
    deliveries: deliveriesTable(db),
  };
}

export type Repos = ReturnType<typeof createRepos>;
