import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deps } from '../deps.js';

/**
 * Start-up clean-up for the file store, before the SMTP listener opens (so nothing is in
 * flight): a crash mid-DATA can leave temporary files and whole objects of a message whose
 * rows never committed. No row names them, so nothing else would ever remove them. Blobs kept
 * in the database (INLINE_BLOB_BYTES) commit with their rows or not at all: none is left over.
 */
export async function removeFsOrphans(deps: Deps, root: string): Promise<{ folders: number; tmpFiles: number }> {
  const result = { folders: 0, tmpFiles: 0 };
  const msgRoot = join(root, 'msg');
  let ids: string[];
  try {
    ids = await readdir(msgRoot);
  } catch {
    return result; // no blobs yet
  }
  for (const id of ids) {
    const dir = join(msgRoot, id);
    if (!await deps.repos.messages.getById(id)) {
      await rm(dir, { recursive: true, force: true });
      result.folders++;
      continue;
    }
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.tmp-')) continue;
      await rm(join(dir, name), { force: true });
      result.tmpFiles++;
    }
  }
  return result;
}
