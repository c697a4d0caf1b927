import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Config } from '../../src/config.js';

// s3rver ships no types; this is the part of it we use.
interface S3rverApp {
  configureBuckets(): Promise<void>;
  callback(): RequestListener;
}
type S3rverClass = new (opts: { directory: string; silent: boolean; configureBuckets: { name: string }[] }) => S3rverApp;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** The fixed account of s3rver (see its README): requests must be signed with it. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** The S3_* variables that point Mailhook at this server. */
  env: Record<string, string>;
  config: S3Config;
  /** A client of our own, to look into the bucket behind Mailhook's back. */
  client: S3Client;
  keys(prefix?: string): Promise<string[]>;
  /** Answer 503 to every request `match` selects (null: serve everything again). `match` sees every request. */
  failWhen(match: ((req: IncomingMessage) => boolean) | null): void;
  /** Stop listening and cut open connections, as if S3 went down; `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real S3 server (s3rver) on 127.0.0.1, port 0, in a temporary directory, with one bucket.
 * It also sets AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in this test process (one file per
 * process in the forks pool), so Mailhook's default credential chain finds them; close() restores them.
 */
export async function startS3Server(bucket = 'mailhook-test'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-s3rver-'));
  const app = new S3rver({ directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
  await app.configureBuckets();
  const handle = app.callback();
  let fault: ((req: IncomingMessage) => boolean) | null = null;
  const server = createServer((req, res) => {
    if (fault?.(req)) {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<Error><Code>ServiceUnavailable</Code><Message>injected by the test</Message></Error>');
      return;
    }
    handle(req, res);
  });
  const listen = (p: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;

  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  const restore = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };

  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  const stop = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return {
    endpoint,
    bucket,
    env: { S3_BUCKET: bucket, S3_ENDPOINT: endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true' },
    config: { bucket, endpoint, region: 'us-east-1', forcePathStyle: true, presignRedirect: false },
    client,
    async keys(prefix = '') {
      const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (res.Contents ?? []).map((o) => o.Key!).sort();
    },
    failWhen: (match) => void (fault = match),
    stop,
    start: () => (server.listening ? Promise.resolve() : listen(port)),
    async close() {
      await stop();
      client.destroy();
      restore('AWS_ACCESS_KEY_ID', saved.id);
      restore('AWS_SECRET_ACCESS_KEY', saved.secret);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
