-- Mailhook schema for PostgreSQL (DATABASE_URL, DESIGN §10): the same tables, columns, keys and
-- cascades as schema.sql, which documents each column. Applied by src/db/pg/migrate.ts under an
-- advisory lock; every statement is idempotent. Differences from SQLite, and why:
-- - epoch-ms times and byte sizes are BIGINT (the pool parses int8 to a JS number: all fit 2^53);
-- - flags stay 0/1 (SMALLINT) and JSON stays TEXT: rows go through the SQLite modules' own row
--   mappers, so the two engines cannot read a row differently; blobs are BYTEA;
-- - attempt ids are identity columns (SQLite's INTEGER PRIMARY KEY rowid);
-- - ids and cursors compare with COLLATE "C": byte order, as SQLite compares TEXT, whatever the
--   database's locale (ids are ASCII; the '\uffff' first-page cursor must sort after all of them).
-- Plus what several nodes share: `leases` (one holder per singleton) and `throttle_hits`.

CREATE TABLE IF NOT EXISTS users (
  id            TEXT COLLATE "C" PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  google_sub    TEXT UNIQUE,
  created_at    BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
  id           TEXT COLLATE "C" PRIMARY KEY,
  user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);

CREATE TABLE IF NOT EXISTS domains (
  id                 TEXT COLLATE "C" PRIMARY KEY,
  user_id            TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name               TEXT NOT NULL,
  status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified')),
  verification_token TEXT NOT NULL,
  verified_at        BIGINT,
  last_check         TEXT,
  webhook_url        TEXT,
  webhook_secret     TEXT,
  webhook_payload    TEXT NOT NULL DEFAULT 'json' CHECK (webhook_payload IN ('json', 'json+attachments', 'raw')),
  created_at         BIGINT NOT NULL,
  dkim_selector      TEXT,
  dkim_public_key    TEXT,
  dkim_private_key   TEXT,
  dkim_verified_at   BIGINT,
  UNIQUE (user_id, name)
);
CREATE UNIQUE INDEX IF NOT EXISTS domains_verified_name ON domains(name) WHERE status = 'verified';
CREATE INDEX IF NOT EXISTS domains_user ON domains(user_id, id);

CREATE TABLE IF NOT EXISTS api_keys (
  id           TEXT COLLATE "C" PRIMARY KEY,
  user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL,
  domain_id    TEXT COLLATE "C" REFERENCES domains(id) ON DELETE CASCADE,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at   BIGINT
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys(user_id, id);

CREATE TABLE IF NOT EXISTS routes (
  id          TEXT COLLATE "C" PRIMARY KEY,
  user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id   TEXT COLLATE "C" NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  match       TEXT NOT NULL,
  action      TEXT NOT NULL CHECK (action IN ('webhook', 'store', 'drop', 'reject', 'forward')),
  destination TEXT,
  secret      TEXT,
  priority    INTEGER NOT NULL DEFAULT 100,
  stop        SMALLINT NOT NULL DEFAULT 0 CHECK (stop IN (0, 1)),
  filters     TEXT,
  enabled     SMALLINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  payload     TEXT NOT NULL DEFAULT 'json' CHECK (payload IN ('json', 'json+attachments', 'raw')),
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS routes_domain ON routes(domain_id, priority, id);
CREATE INDEX IF NOT EXISTS routes_user ON routes(user_id, id);

CREATE TABLE IF NOT EXISTS messages (
  id           TEXT COLLATE "C" PRIMARY KEY,
  user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id    TEXT COLLATE "C" NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  mail_from    TEXT NOT NULL,
  rcpt_to      TEXT NOT NULL,
  helo         TEXT NOT NULL,
  remote_ip    TEXT NOT NULL,
  tls          SMALLINT NOT NULL CHECK (tls IN (0, 1)),
  from_address TEXT NOT NULL DEFAULT '',
  from_name    TEXT NOT NULL DEFAULT '',
  subject      TEXT NOT NULL DEFAULT '',
  message_id   TEXT NOT NULL DEFAULT '',
  size         BIGINT NOT NULL,
  raw_key      TEXT NOT NULL,
  parsed       TEXT NOT NULL,
  auth         TEXT NOT NULL DEFAULT '{}',
  spam         TEXT,
  parse_error  TEXT,
  received_at  BIGINT NOT NULL,
  purged_at    BIGINT
);
CREATE INDEX IF NOT EXISTS messages_user ON messages(user_id, id);
CREATE INDEX IF NOT EXISTS messages_user_domain ON messages(user_id, domain_id, id);
CREATE INDEX IF NOT EXISTS messages_user_from ON messages(user_id, from_address, id);
CREATE INDEX IF NOT EXISTS messages_received ON messages(received_at);
CREATE INDEX IF NOT EXISTS messages_domain ON messages(domain_id);

CREATE TABLE IF NOT EXISTS message_recipients (
  message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  address    TEXT NOT NULL,
  domain_id  TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (message_id, address)
);
CREATE INDEX IF NOT EXISTS message_recipients_address ON message_recipients(address, message_id);
CREATE INDEX IF NOT EXISTS message_recipients_domain ON message_recipients(domain_id, message_id);

CREATE TABLE IF NOT EXISTS attachments (
  id           TEXT COLLATE "C" PRIMARY KEY,
  message_id   TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx          INTEGER NOT NULL,
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         BIGINT NOT NULL,
  sha256       TEXT NOT NULL,
  content_id   TEXT NOT NULL DEFAULT '',
  blob_key     TEXT NOT NULL,
  UNIQUE (message_id, idx)
);

-- The queue (DESIGN §10): a pending row whose next_attempt_at has passed is due; a claim sets
-- next_attempt_at to the lease's end, so a dead node's row comes back due when its lease expires.
CREATE TABLE IF NOT EXISTS deliveries (
  id              TEXT COLLATE "C" PRIMARY KEY,
  user_id         TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  message_id      TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  route_id        TEXT COLLATE "C",
  url             TEXT NOT NULL,
  secret          TEXT NOT NULL,
  payload         TEXT NOT NULL DEFAULT 'json' CHECK (payload IN ('json', 'json+attachments', 'raw')),
  dest            TEXT COLLATE "C" NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_status     INTEGER,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  domain_id       TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, dest, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_message_id ON deliveries(message_id, id);
CREATE INDEX IF NOT EXISTS deliveries_user ON deliveries(user_id, id);
CREATE INDEX IF NOT EXISTS deliveries_user_status ON deliveries(user_id, status, id);
CREATE INDEX IF NOT EXISTS deliveries_user_route ON deliveries(user_id, route_id, id) WHERE route_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS delivery_attempts (
  id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  delivery_id   TEXT COLLATE "C" NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  started_at    BIGINT NOT NULL,
  finished_at   BIGINT,
  status_code   INTEGER,
  latency_ms    BIGINT,
  response_body TEXT,
  error         TEXT,
  -- The node that made it (DESIGN §10): the session's application_name, which every node's pool
  -- sets to its NODE_ID (src/node-id.ts, pool.ts), so no statement passes it.
  node_id       TEXT DEFAULT current_setting('application_name')
);
CREATE INDEX IF NOT EXISTS delivery_attempts_delivery ON delivery_attempts(delivery_id, id);
-- Open attempts are few: the reclaim and the fence look them up by delivery.
CREATE INDEX IF NOT EXISTS delivery_attempts_open ON delivery_attempts(delivery_id) WHERE finished_at IS NULL;

CREATE TABLE IF NOT EXISTS blobs (
  key        TEXT COLLATE "C" PRIMARY KEY,
  message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  data       BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS blobs_message ON blobs(message_id);

CREATE TABLE IF NOT EXISTS ops_state (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS oauth_apps (
  id            TEXT COLLATE "C" PRIMARY KEY,
  user_id       TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  client_id     TEXT NOT NULL UNIQUE,
  secret_hash   TEXT,
  redirect_uris TEXT NOT NULL,
  created_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_apps_user ON oauth_apps(user_id, id);

CREATE TABLE IF NOT EXISTS oauth_grants (
  id           TEXT COLLATE "C" PRIMARY KEY,
  app_id       TEXT COLLATE "C" NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
  user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  scopes       TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX IF NOT EXISTS oauth_grants_user ON oauth_grants(user_id, app_id);
CREATE INDEX IF NOT EXISTS oauth_grants_app ON oauth_grants(app_id);

CREATE TABLE IF NOT EXISTS oauth_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id   TEXT COLLATE "C" NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  scopes     TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT
);
CREATE INDEX IF NOT EXISTS oauth_tokens_grant ON oauth_tokens(grant_id, expires_at);

CREATE TABLE IF NOT EXISTS oauth_codes (
  code_hash      TEXT PRIMARY KEY,
  app_id         TEXT COLLATE "C" NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
  user_id        TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri   TEXT NOT NULL,
  scopes         TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  expires_at     BIGINT NOT NULL,
  used_at        BIGINT,
  grant_id       TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS oauth_codes_created ON oauth_codes(created_at);

CREATE TABLE IF NOT EXISTS sender_blocks (
  id         TEXT COLLATE "C" PRIMARY KEY,
  user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id  TEXT COLLATE "C" REFERENCES domains(id) ON DELETE CASCADE,
  pattern    TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sender_blocks_user ON sender_blocks(user_id, id);

CREATE TABLE IF NOT EXISTS sends (
  id                TEXT COLLATE "C" PRIMARY KEY,
  user_id           TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  domain_id         TEXT COLLATE "C" NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  kind              TEXT NOT NULL DEFAULT 'send' CHECK (kind IN ('send', 'forward')),
  source_message_id TEXT COLLATE "C",
  route_id          TEXT COLLATE "C",
  from_address      TEXT NOT NULL,
  subject           TEXT NOT NULL DEFAULT '',
  message_id        TEXT NOT NULL,
  mail_from         TEXT NOT NULL,
  raw               BYTEA,
  created_at        BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_user ON sends(user_id, id);
CREATE INDEX IF NOT EXISTS sends_user_domain ON sends(user_id, domain_id, id);
CREATE INDEX IF NOT EXISTS sends_mail_from ON sends(mail_from);
CREATE INDEX IF NOT EXISTS sends_source ON sends(source_message_id) WHERE source_message_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS send_recipients (
  id              TEXT COLLATE "C" PRIMARY KEY,
  send_id         TEXT COLLATE "C" NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
  address         TEXT NOT NULL,
  dest            TEXT COLLATE "C" NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued', 'deferred', 'sent', 'bounced', 'failed', 'suppressed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_code       INTEGER,
  last_reply      TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  UNIQUE (send_id, address)
);
CREATE INDEX IF NOT EXISTS send_recipients_due ON send_recipients(dest, next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS send_attempts (
  id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  recipient_id TEXT COLLATE "C" NOT NULL REFERENCES send_recipients(id) ON DELETE CASCADE,
  started_at   BIGINT NOT NULL,
  finished_at  BIGINT,
  mx           TEXT,
  code         INTEGER,
  reply        TEXT,
  error        TEXT,
  node_id      TEXT DEFAULT current_setting('application_name') -- as delivery_attempts.node_id
);
CREATE INDEX IF NOT EXISTS send_attempts_recipient ON send_attempts(recipient_id, id);
CREATE INDEX IF NOT EXISTS send_attempts_open ON send_attempts(recipient_id) WHERE finished_at IS NULL;

CREATE TABLE IF NOT EXISTS suppressions (
  user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  address    TEXT COLLATE "C" NOT NULL,
  reason     TEXT NOT NULL,
  detail     TEXT NOT NULL DEFAULT '',
  send_id    TEXT COLLATE "C",
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, address)
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response     TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (user_id, key)
);

CREATE TABLE IF NOT EXISTS send_events (
  id              TEXT COLLATE "C" PRIMARY KEY,
  user_id         TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  send_id         TEXT COLLATE "C" NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
  type            TEXT NOT NULL,
  url             TEXT NOT NULL,
  secret          TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_status     INTEGER,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS send_events_due ON send_events(next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS send_events_send ON send_events(send_id, id);

-- Singletons of a cluster (the sweeper, the reclaimer): a node runs one while it holds its row,
-- renewing `until`; another takes the row over once `until` has passed (the holder died).
CREATE TABLE IF NOT EXISTS leases (
  name   TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  until  BIGINT NOT NULL
);

-- Login and sign-up throttles shared by every node: one row per counted event, per bucket
-- (e.g. 'login-ip:203.0.113.7'); a sliding window counts the rows younger than the window.
CREATE TABLE IF NOT EXISTS throttle_hits (
  bucket TEXT NOT NULL,
  at     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS throttle_hits_bucket ON throttle_hits(bucket, at);
