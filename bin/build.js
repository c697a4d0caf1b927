#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ (tsconfig.build.json) and copies the dashboard's static
// assets, which the compiler does not emit. dist/ is removed first so no file of a deleted source
// survives in it. Extra arguments go to tsc (the build test passes --noCheck: npm test type-checks);
// `--outDir <folder>` (a folder directly under the repository, so that `../schema.sql` and
// node_modules resolve as from dist/) builds there instead: the tests that build do, so that no
// test removes dist/ under a server another test file is running from it.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const args = process.argv.slice(2);
const at = args.indexOf('--outDir');
const out = at >= 0 ? resolve(args[at + 1] ?? '') : join(root, 'dist');
if (at >= 0) args[at + 1] = out;
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`, ...args], { stdio: 'inherit' });
cpSync(`${root}src/web/assets`, join(out, 'web/assets'), { recursive: true });
