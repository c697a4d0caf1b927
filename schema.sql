-- Mailhook schema: the only DDL. Applied at start-up by src/db/open.ts; every statement is
-- idempotent. Ids are prefixed, time-sortable strings; timestamps are Unix epoch milliseconds.
-- Booleans are INTEGER 0/1; lists and objects are JSON text.

CREATE TABLE IF NOT EXISTS users (
  id            TEXT PRIMARY KEY,               -- usr_
  email         TEXT NOT NULL UNIQUE,           -- normalised: trimmed, lower-case
  password_hash TEXT,                           -- scrypt$N$r$p$salt$hash; NULL for Google-only accounts
  google_sub    TEXT UNIQUE,
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS sessions (
  id           TEXT PRIMARY KEY,                -- ses_
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   TEXT NOT NULL UNIQUE,            -- hex SHA-256 of the mhs_ token
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_used_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);

CREATE TABLE IF NOT EXISTS domains (
  id                 TEXT PRIMARY KEY,          -- dom_
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name               TEXT NOT NULL,             -- lower-case, ASCII (punycode), no trailing dot
  status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified')),
  verification_token TEXT NOT NULL,
  verified_at        INTEGER,
  last_check         TEXT,                      -- JSON: per-record result of the last verify
  webhook_url        TEXT,                      -- catch-all webhook
  webhook_secret     TEXT,                      -- whsec_
  webhook_payload    TEXT NOT NULL DEFAULT 'json' CHECK (webhook_payload IN ('json', 'json+attachments', 'raw')),
  created_at         INTEGER NOT NULL,
  dkim_selector      TEXT,                      -- sending (DESIGN §9): NULL until the key is made
  dkim_public_key    TEXT,                      -- base64 DER SPKI, the p= of the DKIM record
  dkim_private_key   TEXT,                      -- PEM sealed with SECRET (src/send/key-box.ts)
  dkim_verified_at   INTEGER,                   -- the DKIM record was found published: the domain can send
  UNIQUE (user_id, name)
) STRICT;
-- Several accounts may claim a name; only one can hold it verified, and that one receives its mail.
CREATE UNIQUE INDEX IF NOT EXISTS domains_verified_name ON domains(name) WHERE status = 'verified';
CREATE INDEX IF NOT EXISTS domains_user ON domains(user_id, id);

CREATE TABLE IF NOT EXISTS api_keys (
  id           TEXT PRIMARY KEY,                -- key_
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,                   -- first characters of the key, shown in lists
  key_hash     TEXT NOT NULL UNIQUE,            -- hex SHA-256 of the mhk_ key
  scopes       TEXT NOT NULL,                   -- JSON array
  domain_id    TEXT REFERENCES domains(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys(user_id, id);

CREATE TABLE IF NOT EXISTS routes (
  id          TEXT PRIMARY KEY,                 -- rte_
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id   TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  match       TEXT NOT NULL,                    -- exact, *@d, local+*@d or /regex/
  action      TEXT NOT NULL CHECK (action IN ('webhook', 'store', 'drop', 'reject', 'forward')),
  destination TEXT,                             -- https URL for webhook; email address for forward
  secret      TEXT,                             -- whsec_ signing secret for webhook routes
  priority    INTEGER NOT NULL DEFAULT 100,
  stop        INTEGER NOT NULL DEFAULT 0,
  filters     TEXT,                             -- JSON {from?, subject?, header?: {name, value}}
  enabled     INTEGER NOT NULL DEFAULT 1,
  payload     TEXT NOT NULL DEFAULT 'json' CHECK (payload IN ('json', 'json+attachments', 'raw')), -- what a webhook route posts
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS routes_domain ON routes(domain_id, priority, id);
CREATE INDEX IF NOT EXISTS routes_user ON routes(user_id, id);

-- One row per stored copy: a transaction whose recipients belong to two accounts is two rows.
CREATE TABLE IF NOT EXISTS messages (
  id           TEXT PRIMARY KEY,                -- msg_
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id    TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE, -- the first recipient's: shown; message_recipients has all
  mail_from    TEXT NOT NULL,
  rcpt_to      TEXT NOT NULL,                   -- JSON array of this account's envelope recipients
  helo         TEXT NOT NULL,
  remote_ip    TEXT NOT NULL,
  tls          INTEGER NOT NULL,
  from_address TEXT NOT NULL DEFAULT '',
  from_name    TEXT NOT NULL DEFAULT '',
  subject      TEXT NOT NULL DEFAULT '',
  message_id   TEXT NOT NULL DEFAULT '',
  size         INTEGER NOT NULL,                -- raw bytes
  raw_key      TEXT NOT NULL,                   -- blob key of the .eml
  parsed       TEXT NOT NULL,                   -- JSON: to, cc, reply_to, date, headers, text, html, ...
  auth         TEXT NOT NULL DEFAULT '{}',      -- JSON: spf, dkim, dmarc, arc
  spam         TEXT,                            -- JSON: the spam filter's verdict; NULL when no filter ran
  parse_error  TEXT,
  received_at  INTEGER NOT NULL,
  purged_at    INTEGER                          -- attachments' objects removed (7-day link lifetime)
) STRICT;
CREATE INDEX IF NOT EXISTS messages_user ON messages(user_id, id);
CREATE INDEX IF NOT EXISTS messages_user_domain ON messages(user_id, domain_id, id);
CREATE INDEX IF NOT EXISTS messages_user_from ON messages(user_id, from_address, id);
CREATE INDEX IF NOT EXISTS messages_received ON messages(received_at);

-- Which recipients a stored message was for: list filters by recipient and by domain use this.
CREATE TABLE IF NOT EXISTS message_recipients (
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  address    TEXT NOT NULL,                     -- lower-case envelope recipient
  domain_id  TEXT NOT NULL,
  PRIMARY KEY (message_id, address)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS message_recipients_address ON message_recipients(address, message_id);
-- A message belongs to every domain it was addressed to: the domain filter and domain-restricted keys use this.
CREATE INDEX IF NOT EXISTS message_recipients_domain ON message_recipients(domain_id, message_id);

CREATE TABLE IF NOT EXISTS attachments (
  id           TEXT PRIMARY KEY,                -- att_
  message_id   TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx          INTEGER NOT NULL,
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         INTEGER NOT NULL,
  sha256       TEXT NOT NULL,
  content_id   TEXT NOT NULL DEFAULT '',
  blob_key     TEXT NOT NULL,
  UNIQUE (message_id, idx)
) STRICT;

-- One row per (message, destination). Its id is the webhook-id on every attempt.
CREATE TABLE IF NOT EXISTS deliveries (
  id              TEXT PRIMARY KEY,             -- dlv_
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  message_id      TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  route_id        TEXT,                         -- NULL for the domain catch-all; kept if the route is deleted
  url             TEXT NOT NULL,                -- snapshot at enqueue time
  secret          TEXT NOT NULL,                -- snapshot at enqueue time
  payload         TEXT NOT NULL DEFAULT 'json' CHECK (payload IN ('json', 'json+attachments', 'raw')), -- snapshot at enqueue time
  dest            TEXT NOT NULL,                -- scheme://host:port, the concurrency key
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,                      -- NULL once final
  last_status     INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  -- The domain whose route or catch-all queued it, recorded at enqueue time: a delivery stays its
  -- domain's after the route is deleted. NULL only for rows of older versions that the migration
  -- could not place (src/db/migrate.ts): those are shown to unrestricted credentials only.
  -- Not a foreign key, like route_id: a deleted domain's failed deliveries keep naming it.
  domain_id       TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, dest, next_attempt_at);
-- A message's deliveries in id order (the list's message filter, a message's view); replaces (message_id).
DROP INDEX IF EXISTS deliveries_message;
CREATE INDEX IF NOT EXISTS deliveries_message_id ON deliveries(message_id, id);
CREATE INDEX IF NOT EXISTS deliveries_user ON deliveries(user_id, id);
-- The list's status and route filters (deliveryListQuery() in src/db/deliveries.ts). A state
-- change moves an entry of deliveries_user_status only: the route index leaves status out, and
-- catch-all deliveries (route_id NULL).
CREATE INDEX IF NOT EXISTS deliveries_user_status ON deliveries(user_id, status, id);
CREATE INDEX IF NOT EXISTS deliveries_user_route ON deliveries(user_id, route_id, id) WHERE route_id IS NOT NULL;

-- Written before the request goes out; finished_at stays NULL if the process died mid-attempt.
CREATE TABLE IF NOT EXISTS delivery_attempts (
  id            INTEGER PRIMARY KEY,
  delivery_id   TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  status_code   INTEGER,
  latency_ms    INTEGER,
  response_body TEXT,                           -- first 1 KiB
  error         TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS delivery_attempts_delivery ON delivery_attempts(delivery_id, id);

-- Raw messages and attachments up to INLINE_BLOB_BYTES (DESIGN §3), written in the group commit
-- that stores their message: one WAL fsync per batch instead of a file (and folder) fsync per
-- blob. `key` is the blob's BlobStore key (msg/<id>/raw.eml, msg/<id>/<index>), so readers ask
-- for a key and never care where it lives (src/store/inline-blob-store.ts). Larger blobs stay in
-- the BlobStore. Deleting a message deletes its rows here too.
CREATE TABLE IF NOT EXISTS blobs (
  key        TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  data       BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS blobs_message ON blobs(message_id);

-- Operational facts that must outlive a restart (the last retention sweep, for `mailhook status`
-- and /metrics): one JSON value per name.
CREATE TABLE IF NOT EXISTS ops_state (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,                     -- JSON
  updated_at INTEGER NOT NULL
) STRICT;

-- OAuth 2.0 (src/oauth): third-party apps registered by a user, approved by any user.
CREATE TABLE IF NOT EXISTS oauth_apps (
  id            TEXT PRIMARY KEY,               -- app_
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, -- who registered it
  name          TEXT NOT NULL,
  client_id     TEXT NOT NULL UNIQUE,           -- mhc_, public
  secret_hash   TEXT,                           -- hex SHA-256 of the mhcs_ secret; NULL for a public client
  redirect_uris TEXT NOT NULL,                  -- JSON array, compared as exact strings
  created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS oauth_apps_user ON oauth_apps(user_id, id);

-- One per authorization code exchanged: the token family that rotation and reuse detection act on.
CREATE TABLE IF NOT EXISTS oauth_grants (
  id           TEXT PRIMARY KEY,                -- grt_
  app_id       TEXT NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, -- who approved it
  scopes       TEXT NOT NULL,                   -- JSON array: what the user approved
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS oauth_grants_user ON oauth_grants(user_id, app_id);
CREATE INDEX IF NOT EXISTS oauth_grants_app ON oauth_grants(app_id);

-- Access (mho_) and refresh (mhr_) tokens, hashed. Revoking a family deletes its grant row.
CREATE TABLE IF NOT EXISTS oauth_tokens (
  token_hash TEXT PRIMARY KEY,                  -- hex SHA-256
  grant_id   TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  scopes     TEXT NOT NULL,                     -- JSON array
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  rotated_at INTEGER                            -- a refresh token already exchanged: presenting it again revokes the family
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oauth_tokens_grant ON oauth_tokens(grant_id, expires_at);

-- Authorization codes, hashed; kept a day after use so a replay can revoke what the code issued.
CREATE TABLE IF NOT EXISTS oauth_codes (
  code_hash      TEXT PRIMARY KEY,              -- hex SHA-256
  app_id         TEXT NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri   TEXT NOT NULL,
  scopes         TEXT NOT NULL,                 -- JSON array
  code_challenge TEXT NOT NULL,                 -- S256 only
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  used_at        INTEGER,
  grant_id       TEXT                           -- the family it started; not a foreign key: the family may be gone
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oauth_codes_created ON oauth_codes(created_at);

-- Senders an account refuses (POST /api/blocks): refused with 550, nothing stored.
CREATE TABLE IF NOT EXISTS sender_blocks (
  id         TEXT PRIMARY KEY,                  -- blk_
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id  TEXT REFERENCES domains(id) ON DELETE CASCADE, -- NULL: every domain of the account
  pattern    TEXT NOT NULL,                     -- lower-case: an address, *@domain, or a domain
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sender_blocks_user ON sender_blocks(user_id, id);
-- Sending (DESIGN §9). One row per message submitted through POST /v1/send or forwarded by a
-- `forward` route; the signed bytes are kept here, so the queue needs nothing else to resume.
CREATE TABLE IF NOT EXISTS sends (
  id                TEXT PRIMARY KEY,           -- snd_
  user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id         TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  kind              TEXT NOT NULL DEFAULT 'send' CHECK (kind IN ('send', 'forward')),
  source_message_id TEXT,                       -- forward: the inbound msg_; send: reply_to_message_id
  route_id          TEXT,                       -- forward: the route (its id is the loop-guard mark)
  from_address      TEXT NOT NULL,
  subject           TEXT NOT NULL DEFAULT '',
  message_id        TEXT NOT NULL,              -- the Message-ID header
  mail_from         TEXT NOT NULL,              -- envelope sender: the per-send bounce address
  raw               BLOB,                       -- the message as it goes out, DKIM-signed; NULL for a
                                                -- forward, made at each attempt from the stored original
  created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sends_user ON sends(user_id, id);
CREATE INDEX IF NOT EXISTS sends_user_domain ON sends(user_id, domain_id, id);
-- A bounce to a forward's SRS address is matched back by the address (src/send/bounce.ts).
CREATE INDEX IF NOT EXISTS sends_mail_from ON sends(mail_from);
CREATE INDEX IF NOT EXISTS sends_source ON sends(source_message_id) WHERE source_message_id IS NOT NULL;

-- One row per (send, recipient): the outbound queue. next_attempt_at is set exactly while the
-- recipient is still to be tried (queued or deferred); dest groups recipients that share one
-- connection (their domain's MX, or the relay) and is the per-destination concurrency key.
CREATE TABLE IF NOT EXISTS send_recipients (
  id              TEXT PRIMARY KEY,             -- rcp_
  send_id         TEXT NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
  address         TEXT NOT NULL,
  dest            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued', 'deferred', 'sent', 'bounced', 'failed', 'suppressed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_code       INTEGER,
  last_reply      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (send_id, address)
) STRICT;
CREATE INDEX IF NOT EXISTS send_recipients_due ON send_recipients(dest, next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Written before the SMTP transaction; finished_at NULL after a crash mid-attempt.
CREATE TABLE IF NOT EXISTS send_attempts (
  id           INTEGER PRIMARY KEY,
  recipient_id TEXT NOT NULL REFERENCES send_recipients(id) ON DELETE CASCADE,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  mx           TEXT,                            -- host:port that answered (or was tried last)
  code         INTEGER,                         -- SMTP reply code
  reply        TEXT,                            -- the remote reply, first 1 KiB
  error        TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS send_attempts_recipient ON send_attempts(recipient_id, id);

-- Addresses an account no longer sends to (hard bounce).
CREATE TABLE IF NOT EXISTS suppressions (
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  address    TEXT NOT NULL,                     -- lower-case
  reason     TEXT NOT NULL,                     -- 'bounce'
  detail     TEXT NOT NULL DEFAULT '',          -- the remote reply
  send_id    TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, address)
) STRICT, WITHOUT ROWID;

-- Idempotency-Key of POST /v1/send: the first response, kept 24 h.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,                   -- hex SHA-256 of the request body
  response     TEXT NOT NULL,                   -- JSON of the 202 body
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;

-- Events about sends (email.sent, …) for the sending domain's catch-all webhook: a queue like
-- deliveries, whose id is the webhook-id on every attempt.
CREATE TABLE IF NOT EXISTS send_events (
  id              TEXT PRIMARY KEY,             -- evt_
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  send_id         TEXT NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
  type            TEXT NOT NULL,
  url             TEXT NOT NULL,
  secret          TEXT NOT NULL,
  body            TEXT NOT NULL,                -- the exact JSON posted
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_status     INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS send_events_due ON send_events(next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS send_events_send ON send_events(send_id, id);

-- Singletons (the retention sweeper): the node holding a row runs it, renewing `until`; another
-- takes the row over once `until` has passed. One process on SQLite always holds it; the same
-- table on PostgreSQL (schema.pg.sql) is what makes several nodes run one sweeper between them.
CREATE TABLE IF NOT EXISTS leases (
  name   TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until  INTEGER NOT NULL
) STRICT;

-- What the RCPT-time lookups read (a verified domain by name, a domain's enabled routes, the
-- sender blocks that apply to it) and the per-request lookups of the API (a key by hash, a user, a
-- domain by id or by name) is kept in memory by src/db/lookup-cache.ts while this number stays
-- the same. Every change to those tables bumps it, whoever makes it: this process,
-- a `mailhook` CLI command in another, a cascade from a deleted user, a hand-typed UPDATE.
CREATE TABLE IF NOT EXISTS lookup_generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n  INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO lookup_generation (id, n) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS domains_lookup_insert AFTER INSERT ON domains BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS domains_lookup_update AFTER UPDATE ON domains BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS domains_lookup_delete AFTER DELETE ON domains BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS routes_lookup_insert AFTER INSERT ON routes BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS routes_lookup_update AFTER UPDATE ON routes BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS routes_lookup_delete AFTER DELETE ON routes BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS sender_blocks_lookup_insert AFTER INSERT ON sender_blocks BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS sender_blocks_lookup_update AFTER UPDATE ON sender_blocks BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS sender_blocks_lookup_delete AFTER DELETE ON sender_blocks BEGIN UPDATE lookup_generation SET n = n + 1; END;
-- The per-request lookups of POST /v1/send (issue 12) are kept by the same cache: an API key by
-- its hash and users by id. Touching a key (last_used_at, at most once a minute) changes nothing
-- the cache answers with and bumps nothing; every other change to a key (revocation above all)
-- does. A column added to api_keys later belongs in this list.
CREATE TRIGGER IF NOT EXISTS api_keys_lookup_insert AFTER INSERT ON api_keys BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS api_keys_lookup_update AFTER UPDATE OF id, user_id, name, prefix, key_hash, scopes, domain_id, created_at, revoked_at ON api_keys BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS api_keys_lookup_delete AFTER DELETE ON api_keys BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS users_lookup_update AFTER UPDATE ON users BEGIN UPDATE lookup_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS users_lookup_delete AFTER DELETE ON users BEGIN UPDATE lookup_generation SET n = n + 1; END;
