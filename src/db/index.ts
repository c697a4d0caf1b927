import { apiKeysTable } from './api-keys.js';
import { deliveriesTable } from './deliveries.js';
import { deliveriesOfDomain } from './deliveries-list.js';
import { domainsTable } from './domains.js';
import { messageBlobKeys, messagesTable } from './messages.js';
import { oauthAppsTable } from './oauth-apps.js';
import { oauthCodesTable } from './oauth-codes.js';
import { oauthTokensTable } from './oauth-tokens.js';
import type { Db } from './open.js';
import { opsStateTable } from './ops-state.js';
import { routesTable } from './routes.js';
import { senderBlocksTable } from './sender-blocks.js';
import { sessionsTable } from './sessions.js';
import { usersTable } from './users.js';

/** Every table's prepared statements, made once per database. */
export function createRepos(db: Db) {
  return {
    users: usersTable(db),
    domains: domainsTable(db),
    routes: routesTable(db),
    senderBlocks: senderBlocksTable(db),
    messages: messagesTable(db),
    deliveries: deliveriesTable(db),
    sessions: sessionsTable(db),
    apiKeys: apiKeysTable(db),
    messageBlobs: messageBlobKeys(db),
    domainDeliveries: deliveriesOfDomain(db),
    opsState: opsStateTable(db),
    oauthApps: oauthAppsTable(db),
    oauthCodes: oauthCodesTable(db),
    oauthTokens: oauthTokensTable(db),
  };
}

export type Repos = ReturnType<typeof createRepos>;
