#!/usr/bin/env node
// `npm run check`: the type check and the lint side by side (each is one process on one core; run
// one after the other they cost `npm test` a minute and a half of a 2-core machine's wall time).
// Each one's output is printed whole when it ends, so the two never interleave; the exit code is
// non-zero when either fails.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// eslint's package exports hide its bin/; its main module (lib/api.js) sits one folder below it.
const eslint = join(dirname(require.resolve('eslint')), '..', 'bin', 'eslint.js');
const jobs = [
  ['typecheck', [require.resolve('typescript/bin/tsc'), '--noEmit']],
  ['lint', [eslint, '.']],
];

const results = await Promise.all(
  jobs.map(
    ([name, args]) =>
      new Promise((resolve) => {
        const started = Date.now();
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const out = [];
        child.stdout.on('data', (c) => out.push(c));
        child.stderr.on('data', (c) => out.push(c));
        child.on('close', (code, signal) => {
          const text = Buffer.concat(out).toString();
          const status = code === 0 ? 'ok' : `failed (${signal ?? `exit ${code}`})`;
          process.stdout.write(`${text}${text && !text.endsWith('\n') ? '\n' : ''}${name}: ${status} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
          resolve(code === 0);
        });
      }),
  ),
);
process.exit(results.every(Boolean) ? 0 : 1);
