import { apiKeysTable } from './api-keys.js';
import { blobsTable } from './blobs.js';
import { deliveriesTable } from './deliveries.js';
import { deliveriesOfDomain } from './deliveries-list.js';
import { domainsTable } from './domains.js';
import { idempotencyTable } from './idempotency.js';
import { pgLeases } from './leases.js';
import { pgThrottles } from './throttles.js';
import { messageBlobKeys, messagesTable } from './messages.js';
import { oauthAppsTable } from './oauth-apps.js';
import { oauthCodesTable } from './oauth-codes.js';
import { oauthTokensTable } from './oauth-tokens.js';
import { opsStateTable } from './ops-state.js';
import { outboundQueue } from './outbound-queue.js';
import type { PgDb } from './db.js';
import { routesTable } from './routes.js';
import { senderBlocksTable } from './sender-blocks.js';
import { sendsTable } from './sends.js';
import { sessionsTable } from './sessions.js';
import { suppressionsTable } from './suppressions.js';
import { usersTable } from './users.js';

/** Every PostgreSQL table module over `db` (the pool, or one transaction): the groups of the Repository. */
export function pgTables(db: PgDb) {
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
    blobs: blobsTable(db),
    domainDeliveries: deliveriesOfDomain(db),
    opsState: opsStateTable(db),
    oauthApps: oauthAppsTable(db),
    oauthCodes: oauthCodesTable(db),
    oauthTokens: oauthTokensTable(db),
    sends: sendsTable(db),
    suppressions: suppressionsTable(db),
    idempotency: idempotencyTable(db),
    outbound: outboundQueue(db),
    leases: pgLeases(db),
    throttles: pgThrottles(db),
  };
}
