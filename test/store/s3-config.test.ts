import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';

describe('S3 configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-s3-config-'));
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dir, SECRET: 's'.repeat(40), ...env });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the four variables, and the redirect switch off by default', () => {
    expect(load({ S3_BUCKET: 'b', S3_ENDPOINT: 'https://s3.example.test/', S3_FORCE_PATH_STYLE: 'true' }).s3).toEqual({
      bucket: 'b',
      endpoint: 'https://s3.example.test',
      region: 'auto',
      forcePathStyle: true,
      presignRedirect: false,
    });
    expect(load({ S3_BUCKET: 'b', S3_REGION: 'eu-west-1', S3_PRESIGN_REDIRECT: 'true' }).s3).toMatchObject({
      endpoint: null,
      region: 'eu-west-1',
      presignRedirect: true,
    });
    expect(load({}).s3).toBeNull();
  });

  it.each([
    [{ S3_ENDPOINT: 'https://s3.example.test' }, /S3_ENDPOINT is set but S3_BUCKET is not/],
    [{ S3_PRESIGN_REDIRECT: 'true' }, /S3_PRESIGN_REDIRECT is set but S3_BUCKET is not/],
    [{ S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }, /S3_ENDPOINT must be/],
    [{ S3_BUCKET: 'b', S3_ENDPOINT: 'https://s3.example.test', S3_PRESIGN_REDIRECT: 'maybe' }, /S3_PRESIGN_REDIRECT must be true or false/],
    [{ S3_BUCKET: 'b' }, /S3_REGION must be set/],
  ])('refuses %o, naming the variable', (env, message) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(message);
  });

  it('selects the S3 store when S3_BUCKET is set, the file store otherwise', () => {
    for (const [env, kind] of [[{ S3_BUCKET: 'b', S3_REGION: 'eu-west-1' }, 's3'], [{}, 'fs']] as const) {
      const deps = createDeps(load(env));
      expect(deps.blobs.kind).toBe(kind);
      deps.db!.close();
    }
  });
});
