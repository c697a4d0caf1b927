#!/usr/bin/env node
// The admin CLI, from dist/ when built, else from the sources through tsx (bin/entry.js).
import { run } from './entry.js';

await run('cli');
