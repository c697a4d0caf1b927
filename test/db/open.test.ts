import { describe, expect, it } from 'vitest';
import { testDeps } from '../helpers/deps.js';

describe('openDb', () => {
  it('bounds the page cache by SQLITE_CACHE_MB (32 MiB unless set)', async () => {
    const small = testDeps({ SQLITE_CACHE_MB: '4' });
    const dflt = testDeps();
    try {
      expect(small.db.pragma('cache_size', { simple: true })).toBe(-4096);
      expect(dflt.db.pragma('cache_size', { simple: true })).toBe(-32768);
    } finally {
      await small.cleanup();
      await dflt.cleanup();
    }
  });
});
