import { apiKeysTable } from './api-keys.js';
import { blobsTable } from './blobs.js';
import { deliveriesTable } from './deliveries.js';
import { deliveriesOfDomain } from './deliveries-list.js';
import { domainsTable } from './domains.js';
import { idempotencyTable } from './idempotency.js';
import { leasesTable } from './leases.js';
import { memoryThrottles } from './throttles.js';
import { outboundQueue } from './outbound-queue.js';
import { messageBlobKeys, messagesTable } from './messages.js';
import { oauthAppsTable } from './oauth-apps.js';
import { oauthCodesTable } from './oauth-codes.js';
import { oauthTokensTable } from './oauth-tokens.js';
import type { Db } from './open.js';
import { opsStateTable } from './ops-state.js';
import { routesTable } from './routes.js';
import { senderBlocksTable } from './sender-blocks.js';
import { sendsTable } from './sends.js';
import { sessionsTable } from './sessions.js';
import { suppressionsTable } from './suppressions.js';
import { usersTable } from './users.js';

/** Every table's prepared statements, made once per database. */
export function sqliteTables(db: Db) {
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
    leases: leasesTable(db),
    throttles: memoryThrottles(),
  };
}

export type SqliteTables = ReturnType<typeof sqliteTables>;
