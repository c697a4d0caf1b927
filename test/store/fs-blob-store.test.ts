import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';
import { blobStoreContract } from '../helpers/blob-contract.js';

blobStoreContract('file system', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-blobs-'));
  return { store: new FsBlobStore(dir), teardown: async () => rmSync(dir, { recursive: true, force: true }) };
});
