// Chooses what runs: the compiled JavaScript in dist/ when it is there and no source file is newer
// (production: the Docker image holds dist/ and no TypeScript loader), else the TypeScript sources
// through tsx (a fresh clone: `npm ci && npm start` needs no build step, and an edit is never
// shadowed by a stale build).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** 'dist' or 'src': which tree `name` (e.g. 'main', 'cli') runs from. */
export function chooseTree(name, root = ROOT) {
  const built = join(root, 'dist', `${name}.js`);
  if (!existsSync(built)) return 'src';
  const src = join(root, 'src');
  if (!existsSync(src)) return 'dist';
  return statSync(built).mtimeMs >= newestMtime(src) ? 'dist' : 'src';
}

export async function run(name) {
  if (chooseTree(name) === 'dist') {
    await import(pathToFileURL(join(ROOT, 'dist', `${name}.js`)).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(ROOT, 'src', `${name}.ts`)).href);
}
