import { execFileSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has embedded defaults that need nothing but a folder', () => {
    const c = loadConfig({ DATA_DIR: dir });
    expect(c).toMatchObject({
      dataDir: dir,
      smtpPort: 2525,
      httpPort: 3000,
      publicUrl: 'http://localhost:3000',
      maxMessageBytes: 50 * 1024 * 1024,
      maxRecipients: 100,
      retentionDays: 30,
      inlineBlobBytes: 256 * 1024,
      dnsCacheSeconds: 60,
      allowInsecureWebhooks: false,
      smtpProxyProtocol: false,
      s3: null,
      google: null,
      metricsToken: null,
      metricsPort: null,
      shutdownTimeoutMs: 30_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('generates SECRET into DATA_DIR once and keeps it across restarts', () => {
    const first = loadConfig({ DATA_DIR: dir }).secret;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'secret'), 'utf8').trim()).toBe(first);
    expect(loadConfig({ DATA_DIR: dir }).secret).toBe(first);
  });

  it('refuses a DATA_DIR it cannot create, naming DATA_DIR', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const d of [file, join(file, 'sub')]) {
      expect(() => loadConfig({ DATA_DIR: d })).toThrow(ConfigError);
      expect(() => loadConfig({ DATA_DIR: d })).toThrow(`DATA_DIR: cannot create ${d} (`);
    }
  });

  it.skipIf(process.platform !== 'linux')('refuses a DATA_DIR where the secret cannot be generated, naming SECRET and DATA_DIR', () => {
    // /proc/self exists and takes no new file, even for root.
    expect(() => loadConfig({ DATA_DIR: '/proc/self' })).toThrow(/^SECRET is unset and cannot be generated into DATA_DIR \(.+\): make \/proc\/self writable, or set SECRET$/);
    expect(loadConfig({ DATA_DIR: '/proc/self', SECRET: 'z'.repeat(32) }).secret).toBe('z'.repeat(32));
  });

  it('refuses a generated secret file that was emptied or cut short, naming SECRET and the file', () => {
    for (const kept of ['', '\n', 'short-secret']) {
      writeFileSync(join(dir, 'secret'), kept);
      expect(() => loadConfig({ DATA_DIR: dir })).toThrow(ConfigError);
      expect(() => loadConfig({ DATA_DIR: dir })).toThrow(`SECRET is unset and ${join(dir, 'secret')} holds fewer than 32 characters`);
    }
    expect(loadConfig({ DATA_DIR: dir, SECRET: 'y'.repeat(32) }).secret).toBe('y'.repeat(32));
  });

  it.each([
    ['SMTP_PORT', 'abc', /SMTP_PORT must be a whole number/],
    ['HTTP_PORT', '70000', /HTTP_PORT must be between 0 and 65535/],
    ['MAX_MESSAGE_BYTES', '-1', /MAX_MESSAGE_BYTES/],
    ['RETENTION_DAYS', '3', /RETENTION_DAYS must be between 7/],
    ['INLINE_BLOB_BYTES', '64MiB', /INLINE_BLOB_BYTES must be a whole number/],
    ['INLINE_BLOB_BYTES', '67108864', /INLINE_BLOB_BYTES must be between 0 and 16777216/],
    ['ALLOW_INSECURE_WEBHOOKS', 'maybe', /ALLOW_INSECURE_WEBHOOKS must be true or false/],
    ['SMTP_PROXY_PROTOCOL', 'v1', /SMTP_PROXY_PROTOCOL must be true or false, got "v1"/],
    ['PUBLIC_URL', 'not a url', /PUBLIC_URL must be an absolute http\(s\) URL/],
    ['PUBLIC_URL', 'ftp://x.test', /PUBLIC_URL must be an http\(s\) URL/],
    ['SECRET', 'short', /SECRET must be at least 32 characters/],
    ['DNS_SERVERS', 'dns.example', /DNS_SERVERS must list IP addresses/],
    // Each of these passed the old character check and then threw setServers' TypeError at start-up.
    ['DNS_SERVERS', 'abc', /DNS_SERVERS must list IP addresses.*got "abc"/],
    ['DNS_SERVERS', '1.2.3', /DNS_SERVERS must list IP addresses.*got "1.2.3"/],
    ['DNS_SERVERS', '127.0.0.1:99999', /DNS_SERVERS must list IP addresses.*got "127.0.0.1:99999"/],
    ['DNS_SERVERS', '127.0.0.1, [::1', /DNS_SERVERS must list IP addresses.*got "\[::1"/],
    ['DNS_CACHE_SECONDS', '3601', /DNS_CACHE_SECONDS must be between 0 and 3600/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['TRUST_PROXY', 'yes', /TRUST_PROXY must be none, fly or x-forwarded-for, got "yes"/],
    ['TLS_CERT', '/nonexistent/cert.pem', /TLS_CERT: cannot read/],
    ['METRICS_TOKEN', 'guessable', /METRICS_TOKEN must be at least 16 characters/],
    ['METRICS_PORT', '99999', /METRICS_PORT must be between 0 and 65535/],
    ['SHUTDOWN_TIMEOUT_MS', '30s', /SHUTDOWN_TIMEOUT_MS must be a whole number/],
    ['SHUTDOWN_TIMEOUT_MS', '10', /SHUTDOWN_TIMEOUT_MS must be between 1000/],
    ['SQLITE_CACHE_MB', '0', /SQLITE_CACHE_MB must be between 1/],
    ['SPOOL_MEMORY_BYTES', '1e9', /SPOOL_MEMORY_BYTES/],
    ['SMTP_RELAY', 'smtp://relay.example:0', /SMTP_RELAY port must be between 1 and 65535/],
    ['SMTP_RELAY', 'http://relay.example', /SMTP_RELAY must start with smtp:\/\/ or smtps:\/\//],
  ])('refuses %s=%s with a message naming it', (name, value, message) => {
    expect(() => loadConfig({ DATA_DIR: dir, [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, [name]: value })).toThrow(message);
  });

  it('DNS_SERVERS takes ip, ip:port and [ipv6]:port, all of which the resolver accepts', () => {
    const servers = loadConfig({ DATA_DIR: dir, DNS_SERVERS: '127.0.0.1, 127.0.0.1:5300,::1,[::1]:5300, [2001:db8::1]' }).dnsServers;
    expect(servers).toEqual(['127.0.0.1', '127.0.0.1:5300', '::1', '[::1]:5300', '[2001:db8::1]']);
    expect(() => new Resolver().setServers(servers)).not.toThrow();
  });

  it('refuses a TLS_CERT or TLS_KEY that TLS cannot use, naming the variable', () => {
    const pem = (name: string) => join(dir, name);
    for (const n of ['a', 'b']) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem(`${n}-key.pem`), '-out', pem(`${n}-cert.pem`), '-days', '1', '-subj', '/CN=mx.mailhook.test'], { stdio: 'ignore' });
    }
    writeFileSync(pem('hostname'), 'mx.example\n');
    const tls = (cert: string, key: string) => loadConfig({ DATA_DIR: dir, TLS_CERT: pem(cert), TLS_KEY: pem(key) });
    expect(tls('a-cert.pem', 'a-key.pem').tlsCert).toContain('BEGIN CERTIFICATE');
    expect(() => tls('hostname', 'a-key.pem')).toThrow(ConfigError);
    expect(() => tls('hostname', 'a-key.pem')).toThrow(/^TLS_CERT is not a PEM certificate/);
    // The two files swapped: a common slip.
    expect(() => tls('a-key.pem', 'a-cert.pem')).toThrow(/^TLS_CERT is not a PEM certificate/);
    expect(() => tls('a-cert.pem', 'hostname')).toThrow(/^TLS_KEY is not a PEM private key/);
    expect(() => tls('a-cert.pem', 'b-key.pem')).toThrow(/^TLS_KEY is not the private key of the certificate in TLS_CERT/);
  });

  it('OUTBOUND_SMTP_PORT other than 25 only with ALLOW_INSECURE_WEBHOOKS=true (DESIGN §9: local testing only)', () => {
    expect(loadConfig({ DATA_DIR: dir }).outboundSmtpPort).toBe(25);
    expect(() => loadConfig({ DATA_DIR: dir, OUTBOUND_SMTP_PORT: '2525' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, OUTBOUND_SMTP_PORT: '2525' })).toThrow(/^OUTBOUND_SMTP_PORT other than 25 .*needs ALLOW_INSECURE_WEBHOOKS=true/);
    expect(loadConfig({ DATA_DIR: dir, OUTBOUND_SMTP_PORT: '25' }).outboundSmtpPort).toBe(25);
    expect(loadConfig({ DATA_DIR: dir, OUTBOUND_SMTP_PORT: '2525', ALLOW_INSECURE_WEBHOOKS: 'true' }).outboundSmtpPort).toBe(2525);
  });

  it('SMTP_RELAY: STARTTLS required unless the URL says optional, smtps:// is implicit TLS on 465, credentials URL-decoded', () => {
    const relay = (v: string) => loadConfig({ DATA_DIR: dir, SMTP_RELAY: v }).smtpRelay;
    expect(loadConfig({ DATA_DIR: dir }).smtpRelay).toBeNull();
    expect(relay('smtp://ops%40example.org:p%3Ass@relay.example:2587')).toEqual({ host: 'relay.example', port: 2587, secure: false, requireTls: true, user: 'ops@example.org', pass: 'p:ss' });
    expect(relay('smtp://relay.example')).toMatchObject({ port: 587, secure: false, requireTls: true, user: null, pass: null });
    expect(relay('smtp://relay.example?starttls=optional')).toMatchObject({ port: 587, requireTls: false });
    expect(relay('smtps://relay.example')).toMatchObject({ port: 465, secure: true, requireTls: false });
    expect(relay('smtp://[::1]:2525')).toMatchObject({ host: '::1', port: 2525 });
    expect(() => relay('smtp://relay.example?starttls=maybe')).toThrow(/^SMTP_RELAY starttls= must be required or optional/);
    expect(() => relay('relay.example:587')).toThrow(/^SMTP_RELAY must/);
  });

  it('TRUST_PROXY is none unless set; fly and x-forwarded-for in any case', () => {
    expect(loadConfig({ DATA_DIR: dir }).trustProxy).toBe('none');
    expect(loadConfig({ DATA_DIR: dir, TRUST_PROXY: 'Fly' }).trustProxy).toBe('fly');
    expect(loadConfig({ DATA_DIR: dir, TRUST_PROXY: 'X-Forwarded-For' }).trustProxy).toBe('x-forwarded-for');
  });

  it('needs paired variables together', () => {
    expect(() => loadConfig({ DATA_DIR: dir, GOOGLE_CLIENT_ID: 'x' })).toThrow(/GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET/);
  });

  it('DATABASE_URL selects PostgreSQL, only with S3_BUCKET and an explicit SECRET, each named when missing', () => {
    expect(loadConfig({ DATA_DIR: dir }).databaseUrl).toBeNull();
    const pg = { DATA_DIR: join(dir, 'node'), DATABASE_URL: 'postgres://mh:pw@db.internal:5432/mailhook', S3_BUCKET: 'mail', S3_REGION: 'auto', SECRET: 'x'.repeat(32) };
    expect(loadConfig(pg).databaseUrl).toBe('postgres://mh:pw@db.internal:5432/mailhook');
    expect(loadConfig({ ...pg, DATABASE_URL: 'postgresql://db/mh' }).databaseUrl).toBe('postgresql://db/mh');
    expect(() => loadConfig({ ...pg, S3_BUCKET: '', S3_REGION: '' })).toThrow(/^S3_BUCKET must be set with DATABASE_URL/);
    expect(() => loadConfig({ ...pg, SECRET: '' })).toThrow(/^SECRET must be set with DATABASE_URL/);
    // Not generated into DATA_DIR either: that file would be this node's alone.
    expect(existsSync(join(dir, 'node', 'secret'))).toBe(false);
    for (const bad of ['mysql://db/mh', 'file:./mailhook.db', 'not a url', 'postgres:///nohost']) {
      expect(() => loadConfig({ ...pg, DATABASE_URL: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ ...pg, DATABASE_URL: bad })).toThrow(/^DATABASE_URL must be a PostgreSQL URL/);
    }
  });

  it('MX_HOST is a host name: an address, a port, a URL or a bad label stops start-up naming it', () => {
    for (const ok of ['mx.example.com', 'MX.Example.COM.', 'localhost', 'mail-1.example.co.uk', 'xn--bcher-kva.example']) {
      expect(loadConfig({ DATA_DIR: dir, MX_HOST: ok }).mxHost).toBe(ok);
    }
    for (const bad of ['mx.example.com:25', 'smtp://mx.example.com', '192.0.2.1', 'mx example.com', 'mx_1.example.com', '-mx.example.com', 'mx..example.com', `${'a'.repeat(64)}.example.com`]) {
      expect(() => loadConfig({ DATA_DIR: dir, MX_HOST: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ DATA_DIR: dir, MX_HOST: bad }), bad).toThrow(/MX_HOST/);
    }
    // Unset: the machine's host name, whatever it looks like.
    expect(loadConfig({ DATA_DIR: dir }).mxHost).toBeTruthy();
  });

  it('reads S3 settings when S3_BUCKET is set', () => {
    const c = loadConfig({ DATA_DIR: dir, S3_BUCKET: 'mail', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true' });
    expect(c.s3).toMatchObject({ bucket: 'mail', endpoint: 'http://127.0.0.1:9000', region: 'auto', forcePathStyle: true });
  });
});
