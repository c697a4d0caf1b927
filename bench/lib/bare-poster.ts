/**
 * The fan-out baseline, its own process like Mailhook: a bare node:http client POSTing `count`
 * JSON bodies of `bytes` bytes to `url`, `concurrency` at a time, on keep-alive connections. No
 * queue, no database, no signing: the floor of webhook delivery at that concurrency.
 * Usage: node --import tsx bench/lib/bare-poster.ts <url> <count> <concurrency> <bytes>
 */
import http from 'node:http';

const [url = '', countArg = '0', concArg = '8', bytesArg = '5000'] = process.argv.slice(2);
const count = Number(countArg);
const agent = new http.Agent({ keepAlive: true });
const body = JSON.stringify({ type: 'email.received', data: { text: 'x'.repeat(Math.max(0, Number(bytesArg) - 50)) } });
let next = 0;

function post(id: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'webhook-id': id },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    req.end(body);
  });
}

async function lane(): Promise<void> {
  while (next < count) await post(`bare_${process.pid}_${next++}`);
}

await Promise.all(Array.from({ length: Number(concArg) }, lane));
agent.destroy();
