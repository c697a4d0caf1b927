#!/usr/bin/env node
// The admin CLI: TypeScript sources run through tsx, exactly as `npm start` runs the server.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
