// Preloaded into a Mailhook child process (node --import): records every module the process loads
// (ESM through a resolve hook, CommonJS through require.cache) and answers an IPC 'loaded' message
// with the list, so a test can see what start-up and a configuration pulled in.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const seen = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => seen.add(url));
port1.unref();
register('./loaded-modules-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

const cache = createRequire(import.meta.url).cache;
process.on('message', (msg) => {
  if (msg !== 'loaded') return;
  // Hook messages travel on another thread: give the last ones a moment to arrive.
  setTimeout(() => process.send?.([...seen, ...Object.keys(cache)]), 100);
});
