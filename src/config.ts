import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';

/** Everything Mailhook reads from the environment, validated once. */
export interface Config {
  dataDir: string;
  smtpHost: string;
  smtpPort: number;
  httpHost: string;
  httpPort: number;
  publicUrl: string;
  mxHost: string;
  secret: string;
  maxMessageBytes: number;
  maxRecipients: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  smtpIdleTimeoutMs: number;
  /**
   * A session must finish each transaction (or quit) within this long of connecting or of its
   * previous transaction: the idle timeout alone restarts on every byte, so it does not stop a
   * client that drips one byte a minute.
   */
  smtpTransactionTimeoutMs: number;
  smtpReverseDns: boolean;
  /** Before the 220 banner; a client that talks first gets 421 (src/smtp/greeting-delay.ts). */
  smtpGreetingDelayMs: number;
  /**
   * Every connection must open with a PROXY protocol v1 header (Fly's `proxy_proto` handler), and
   * its source address is the client IP: for SPF, the per-IP cap and the stored envelope.
   */
  smtpProxyProtocol: boolean;
  retentionDays: number;
  /**
   * A raw message or attachment up to this many bytes is stored in the database, in the group
   * commit of its message (DESIGN §3); larger ones go to the BlobStore. 0: every blob goes there.
   */
  inlineBlobBytes: number;
  /** SQLite's page cache, MiB (per connection; the process has one). */
  sqliteCacheMb: number;
  /** A message up to this size is held in memory while received, a larger one in a temporary file. */
  spoolMemoryBytes: number;
  dnsServers: string[];
  /** DNS_CACHE_SECONDS: how long the auth checks reuse a DNS answer (0: never). */
  dnsCacheSeconds: number;
  tlsCert: string | null;
  tlsKey: string | null;
  authChecks: boolean;
  webhookConcurrency: number;
  /** The ceiling of each destination's adaptive limit (src/deliver/limit.ts), which starts at 8. */
  webhookConcurrencyPerDestination: number;
  webhookTimeoutMs: number;
  allowInsecureWebhooks: boolean;
  /** json+attachments payloads: attachments inline (base64) up to this many bytes in total. */
  inlineAttachmentBytes: number;
  /** SPAM_FILTER: 'rspamd' checks every message before the 250; null: no spam check. */
  spamFilter: 'rspamd' | null;
  rspamdUrl: string;
  /** How long the 250 may wait for the spam filter's answer. */
  spamTimeoutMs: number;
  s3: S3Config | null;
  /**
   * DATABASE_URL (postgres://…): rows and queues in PostgreSQL, shared by every node started with
   * it (DESIGN §10); null: the embedded SQLite file in DATA_DIR.
   */
  databaseUrl: string | null;
  /** SMTP_RELAY: send every outgoing message through this server instead of each recipient's MX. */
  smtpRelay: SmtpRelay | null;
  /** Port of recipients' MX hosts; anything but 25 is for local testing (ALLOW_INSECURE_WEBHOOKS). */
  outboundSmtpPort: number;
  /** Messages per minute one account may submit through POST /v1/send. */
  sendRatePerMinute: number;
  google: { clientId: string; clientSecret: string; issuer: string } | null;
  /** Bearer token that opens GET /metrics to non-loopback peers; null: loopback only. */
  metricsToken: string | null;
  /**
   * A second listener serving only /metrics, for a scraper on a private network (Fly's, on
   * 6PN) that cannot send a token: there private-network peers need none. Null: no listener.
   */
  metricsPort: number | null;
  metricsHost: string;
  /** SIGTERM/SIGINT: how long SMTP transactions and webhook attempts in flight may take to finish. */
  shutdownTimeoutMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * Which forwarded-IP header names the client for the sign-in and sign-up throttles: none (the
   * socket's address), Fly's `Fly-Client-IP`, or the right-most untrusted `X-Forwarded-For` hop.
   */
  trustProxy: TrustProxy;
}

export const TRUST_PROXY_VALUES = ['none', 'fly', 'x-forwarded-for'] as const;
export type TrustProxy = (typeof TRUST_PROXY_VALUES)[number];

export interface S3Config {
  bucket: string;
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  /** /att answers 302 to a presigned URL instead of streaming the object through Mailhook. */
  presignRedirect: boolean;
}

export interface SmtpRelay {
  host: string;
  port: number;
  /** smtps:// — TLS from the first byte (port 465 style). */
  secure: boolean;
  /** STARTTLS must succeed; only `?starttls=optional` in the URL turns this off. */
  requireTls: boolean;
  user: string | null;
  pass: string | null;
}

export class ConfigError extends Error {}

/** SMTP_RELAY=smtp://user:pass@host:587 (STARTTLS required) or smtps://… (implicit TLS). */
function relay(env: Env): SmtpRelay | null {
  const raw = env.SMTP_RELAY?.trim();
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`SMTP_RELAY must be a URL like smtp://user:pass@host:587, got "${raw}"`);
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new ConfigError(`SMTP_RELAY must start with smtp:// or smtps://, got "${raw}"`);
  if (!u.hostname) throw new ConfigError('SMTP_RELAY has no host');
  const starttls = u.searchParams.get('starttls') ?? 'required';
  if (!['required', 'optional'].includes(starttls)) throw new ConfigError(`SMTP_RELAY starttls= must be required or optional, got "${starttls}"`);
  const secure = u.protocol === 'smtps:';
  if (u.port === '0') throw new ConfigError(`SMTP_RELAY port must be between 1 and 65535, got 0`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    requireTls: !secure && starttls === 'required',
    user: u.username ? decodeURIComponent(u.username) : null,
    pass: u.password ? decodeURIComponent(u.password) : null,
  };
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/**
 * The name domains publish as their MX, and the SMTP greeting's: a host name (RFC 1123 labels,
 * RFC 7505/5321: an MX points at a name, never an address). Checked when set; the machine's own
 * host name is taken as it is (a container's may not be a DNS name, and it only matters in tests).
 */
function mxHost(env: Env): string {
  const raw = env.MX_HOST?.trim();
  if (!raw) return hostname();
  const name = raw.replace(/\.$/, '').toLowerCase();
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  if (name.length > 253 || !name.split('.').every((l) => label.test(l)) || /^[\d.]+$/.test(name)) {
    throw new ConfigError(`MX_HOST must be a host name such as mx.example.com (letters, digits, hyphens and dots; not an address, port or URL), got "${raw}"`);
  }
  return raw;
}

function url(env: Env, name: string, def: string): string {
  const raw = env[name]?.trim() || def;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function spamFilter(env: Env): 'rspamd' | null {
  const raw = env.SPAM_FILTER?.trim().toLowerCase();
  if (!raw || raw === 'none' || raw === 'off') return null;
  if (raw === 'rspamd') return 'rspamd';
  throw new ConfigError(`SPAM_FILTER must be rspamd or none, got "${env.SPAM_FILTER}"`);
}

/**
 * DATABASE_URL: PostgreSQL, for several nodes. They share the rows, so each needs what a single
 * node keeps in DATA_DIR from somewhere shared too: blobs in S3 (another node must serve a link to
 * an attachment this one stored) and the SECRET (signed links, bounce addresses, CSRF tokens and
 * sealed DKIM keys made by one node are checked by another; a secret generated per node would differ).
 */
function databaseUrl(env: Env): string | null {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return null;
  let u: URL | null = null;
  try {
    u = new URL(raw);
  } catch {
    u = null;
  }
  if (!u || (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') || !u.hostname) {
    throw new ConfigError('DATABASE_URL must be a PostgreSQL URL like postgres://user:pass@host:5432/mailhook');
  }
  if (!env.S3_BUCKET?.trim()) throw new ConfigError('S3_BUCKET must be set with DATABASE_URL: every node must read the blobs another stored');
  if (!env.SECRET?.trim()) {
    throw new ConfigError('SECRET must be set with DATABASE_URL, the same on every node (one generated per node would not match)');
  }
  return raw;
}

function readSecret(env: Env, dataDir: string): string {
  const given = env.SECRET?.trim();
  if (given) {
    if (given.length < 32) throw new ConfigError('SECRET must be at least 32 characters');
    return given;
  }
  // Generated once and kept beside the database, so links and sessions survive restarts.
  const file = join(dataDir, 'secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    // An emptied or truncated file would sign links and seal keys with a guessable secret.
    if (kept.length < 32) throw new ConfigError(`SECRET is unset and ${file} holds fewer than 32 characters: restore it, or set SECRET`);
    return kept;
  }
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600 });
  } catch (err) {
    throw new ConfigError(`SECRET is unset and cannot be generated into DATA_DIR (${(err as Error).message}): make ${dataDir} writable, or set SECRET`);
  }
  return secret;
}

/**
 * DNS_SERVERS: `ip`, `ip:port` or `[ipv6]:port`, as node's Resolver.setServers takes them. Checked
 * here so that a typo stops start-up naming the variable, not with setServers' TypeError.
 */
function dnsServers(env: Env): string[] {
  const list = (env.DNS_SERVERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? (isIP(s) ? [s, s, undefined] : /^([^:]+):(\d+)$/.exec(s));
    const port = m?.[2] === undefined ? 53 : Number(m[2]);
    if (!m || !isIP(m[1]!) || port < 1 || port > 65535) {
      throw new ConfigError(`DNS_SERVERS must list IP addresses (ip, ip:port or [ipv6]:port), got "${s}"`);
    }
  }
  return list;
}

/**
 * The certificate and key as TLS will use them: a file that is not PEM, or a key that is not the
 * certificate's, stops start-up naming the variable (not an OpenSSL error from the SMTP server).
 */
function checkTls(cert: string, key: string): void {
  const tryContext = (opts: { cert?: string; key?: string }, what: string) => {
    try {
      createSecureContext(opts);
    } catch (err) {
      throw new ConfigError(`${what} (${(err as Error).message})`);
    }
  };
  tryContext({ cert }, 'TLS_CERT is not a PEM certificate');
  tryContext({ key }, 'TLS_KEY is not a PEM private key (unencrypted)');
  tryContext({ cert, key }, 'TLS_KEY is not the private key of the certificate in TLS_CERT');
}

function tlsFile(env: Env, name: string): string | null {
  const path = env[name]?.trim();
  if (!path) return null;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${path} (${(err as Error).message})`);
  }
}

/** DATA_DIR alone, without creating it or anything in it (`mailhook restore` needs it empty). */
export function dataDirOf(env: Env = process.env): string {
  return resolve(env.DATA_DIR?.trim() || './data');
}

/** Reads and validates the configuration. Throws ConfigError naming the variable at fault. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const dataDir = dataDirOf(env);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new ConfigError(`DATA_DIR: cannot create ${dataDir} (${(err as Error).message})`);
  }
  const httpPort = int(env, 'HTTP_PORT', 3000, 0, 65535);
  const tlsCert = tlsFile(env, 'TLS_CERT');
  const tlsKey = tlsFile(env, 'TLS_KEY');
  if (!!tlsCert !== !!tlsKey) throw new ConfigError('TLS_CERT and TLS_KEY must be set together');
  if (tlsCert && tlsKey) checkTls(tlsCert, tlsKey);
  const bucket = env.S3_BUCKET?.trim();
  // Without a bucket the other S3_* variables would be ignored and mail would land on local disk.
  const strayS3 = ['S3_ENDPOINT', 'S3_REGION', 'S3_FORCE_PATH_STYLE', 'S3_PRESIGN_REDIRECT'].find((n) => env[n]?.trim());
  if (!bucket && strayS3) throw new ConfigError(`${strayS3} is set but S3_BUCKET is not`);
  // AWS itself has no region "auto" (R2 and Tigris do): every call would fail, every message 451.
  if (bucket && !env.S3_ENDPOINT?.trim() && !env.S3_REGION?.trim()) {
    throw new ConfigError('S3_REGION must be set for AWS S3 (or set S3_ENDPOINT for another provider)');
  }
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be debug, info, warn, error or silent, got "${logLevel}"`);
  }
  const trustProxy = (env.TRUST_PROXY?.trim().toLowerCase() || 'none') as TrustProxy;
  if (!TRUST_PROXY_VALUES.includes(trustProxy)) {
    throw new ConfigError(`TRUST_PROXY must be none, fly or x-forwarded-for, got "${env.TRUST_PROXY}"`);
  }
  const allowInsecureWebhooks = bool(env, 'ALLOW_INSECURE_WEBHOOKS', false);
  const outboundSmtpPort = int(env, 'OUTBOUND_SMTP_PORT', 25, 1, 65535);
  // Other ports only reach test servers: real MX hosts listen on 25 (RFC 5321 §4.5.4.2 has no other).
  if (outboundSmtpPort !== 25 && !allowInsecureWebhooks) {
    throw new ConfigError('OUTBOUND_SMTP_PORT other than 25 is for local testing and needs ALLOW_INSECURE_WEBHOOKS=true');
  }
  const metricsToken = env.METRICS_TOKEN?.trim() || null;
  // A short token is guessable by anyone who can reach the HTTP port.
  if (metricsToken !== null && metricsToken.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  const metricsPortRaw = env.METRICS_PORT?.trim();
  const database = databaseUrl(env);
  const googleId = env.GOOGLE_CLIENT_ID?.trim();
  const googleSecret = env.GOOGLE_CLIENT_SECRET?.trim();
  if (!!googleId !== !!googleSecret) {
    throw new ConfigError('GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together');
  }

  return Object.freeze({
    dataDir,
    smtpHost: env.SMTP_HOST?.trim() || '0.0.0.0',
    smtpPort: int(env, 'SMTP_PORT', 2525, 0, 65535),
    httpHost: env.HTTP_HOST?.trim() || '0.0.0.0',
    httpPort,
    publicUrl: url(env, 'PUBLIC_URL', `http://localhost:${httpPort}`),
    mxHost: mxHost(env),
    secret: readSecret(env, dataDir),
    maxMessageBytes: int(env, 'MAX_MESSAGE_BYTES', 50 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxRecipients: int(env, 'MAX_RECIPIENTS', 100, 1, 10_000),
    maxConnections: int(env, 'MAX_CONNECTIONS', 500, 1, 100_000),
    maxConnectionsPerIp: int(env, 'MAX_CONNECTIONS_PER_IP', 50, 1, 100_000),
    smtpIdleTimeoutMs: int(env, 'SMTP_IDLE_TIMEOUT_MS', 60_000, 1000, 3_600_000),
    smtpTransactionTimeoutMs: int(env, 'SMTP_TRANSACTION_TIMEOUT_MS', 600_000, 1000, 86_400_000),
    smtpReverseDns: bool(env, 'SMTP_REVERSE_DNS', false),
    smtpGreetingDelayMs: int(env, 'SMTP_GREETING_DELAY_MS', 100, 0, 30_000),
    smtpProxyProtocol: bool(env, 'SMTP_PROXY_PROTOCOL', false),
    retentionDays: int(env, 'RETENTION_DAYS', 30, 7, 3650),
    // Held in memory until the commit (up to 4× per message, src/inbound/blob-writer.ts): capped.
    inlineBlobBytes: int(env, 'INLINE_BLOB_BYTES', 256 * 1024, 0, 16 * 1024 * 1024),
    sqliteCacheMb: int(env, 'SQLITE_CACHE_MB', 32, 1, 4096),
    spoolMemoryBytes: int(env, 'SPOOL_MEMORY_BYTES', 256 * 1024, 0, 64 * 1024 * 1024),
    dnsServers: dnsServers(env),
    dnsCacheSeconds: int(env, 'DNS_CACHE_SECONDS', 60, 0, 3600),
    tlsCert,
    tlsKey,
    authChecks: bool(env, 'AUTH_CHECKS', true),
    webhookConcurrency: int(env, 'WEBHOOK_CONCURRENCY', 64, 1, 10_000),
    webhookConcurrencyPerDestination: int(env, 'WEBHOOK_CONCURRENCY_PER_DESTINATION', 32, 1, 1000),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    allowInsecureWebhooks,
    smtpRelay: relay(env),
    outboundSmtpPort,
    sendRatePerMinute: int(env, 'SEND_RATE_PER_MINUTE', 600, 1, 1_000_000),
    inlineAttachmentBytes: int(env, 'INLINE_ATTACHMENT_BYTES', 1024 * 1024, 0, 50 * 1024 * 1024),
    spamFilter: spamFilter(env),
    rspamdUrl: url(env, 'RSPAMD_URL', 'http://127.0.0.1:11333'),
    spamTimeoutMs: int(env, 'SPAM_TIMEOUT_MS', 5000, 100, 60_000),
    s3: bucket
      ? {
          bucket,
          endpoint: env.S3_ENDPOINT?.trim() ? url(env, 'S3_ENDPOINT', '') : null,
          region: env.S3_REGION?.trim() || 'auto',
          forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
          presignRedirect: bool(env, 'S3_PRESIGN_REDIRECT', false),
        }
      : null,
    databaseUrl: database,
    google:
      googleId && googleSecret
        ? {
            clientId: googleId,
            clientSecret: googleSecret,
            issuer: url(env, 'GOOGLE_ISSUER', 'https://accounts.google.com'),
          }
        : null,
    metricsToken,
    metricsPort: metricsPortRaw ? int(env, 'METRICS_PORT', 0, 0, 65535) : null,
    metricsHost: env.METRICS_HOST?.trim() || '0.0.0.0',
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 30_000, 1000, 600_000),
    logLevel,
    trustProxy,
  });
}
