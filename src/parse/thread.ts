import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// Compiled (dist/, npm run build): a thread runs its .js file as it is. From source: through
// tsx, whose loader a worker does not inherit, so the thread registers it before importing.
const COMPILED = import.meta.url.endsWith('.js');

function bootCode(file: URL): string {
  const tsx = pathToFileURL(
    createRequire(import.meta.url).resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs'),
  ).href;
  return `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(file.href)}, ${JSON.stringify(file.href)}))
  .catch((err) => { console.error('thread failed to start', err); process.exit(1); });`;
}

/** A worker thread running `name` (a module next to this one, without extension), compiled or from source. */
export function newThread(name: string): Worker {
  const file = new URL(`./${name}${COMPILED ? '.js' : '.ts'}`, import.meta.url);
  return COMPILED ? new Worker(file) : new Worker(bootCode(file), { eval: true });
}
