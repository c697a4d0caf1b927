#!/usr/bin/env node
// `npm start`: the server, from dist/ when built (`npm run build`), else from the sources (bin/entry.js).
import { run } from './entry.js';

await run('main');
