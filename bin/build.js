#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ (tsconfig.build.json) and copies the dashboard's static
// assets, which the compiler does not emit. dist/ is removed first so no file of a deleted source
// survives in it. Extra arguments go to tsc (the build test passes --noCheck: npm test type-checks).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`, ...process.argv.slice(2)], { stdio: 'inherit' });
cpSync(`${root}src/web/assets`, `${root}dist/web/assets`, { recursive: true });
