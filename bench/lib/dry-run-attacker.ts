/**
 * The stall scenario's load, its own process so that the probes' timings are not the attacker's
 * own event loop: `count` loops, each POSTing pathological 8 MB dry runs (alternately 200,000
 * encoded-word headers and 160,000 `<div><a …>`) with its own session until `seconds` pass, then
 * prints one JSON line of outcomes. Usage (environment): ATTACK_URL, ATTACK_DOMAIN_ID,
 * ATTACK_DOMAIN, ATTACK_TOKENS (comma-separated), ATTACK_SECONDS.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const env = (name: string) => process.env[name] ?? '';
const domain = env('ATTACK_DOMAIN');
const tokens = env('ATTACK_TOKENS').split(',');
const until = performance.now() + Number(env('ATTACK_SECONDS')) * 1000;

function encodedWords(): string {
  const lines = ['From: a@sender.test', `To: x@${domain}`, 'Subject: stall'];
  for (let i = 0; i < 200_000; i++) lines.push(`X-W: =?utf-8?Q?caf=C3=A9_${i}?=`);
  return lines.join('\r\n') + '\r\n\r\nbody\r\n';
}

function nestedHtml(): string {
  const head = `From: a@sender.test\r\nTo: x@${domain}\r\nSubject: stall\r\nContent-Type: text/html\r\n\r\n`;
  return head + '<div><a href="https://example.com/xxxxxxxxxxxxx">'.repeat(160_000) + '\r\n';
}

// Encoded once: a fetch() of a string body re-encodes its 8 MB on every request (~10 ms of this
// process's CPU, on the cores the server shares), work no attacker's CPU does on the server's machine.
const bodies = [encodedWords(), nestedHtml()].map((raw) =>
  Buffer.from(JSON.stringify({ domain_id: env('ATTACK_DOMAIN_ID'), raw, recipient: `x@${domain}` })),
);
const url = new URL(env('ATTACK_URL'));
const agent = new Agent({ keepAlive: true });

function post(token: string, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/api/routes/test',
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(String(res.statusCode)));
        res.once('error', (err) => resolve(err.message));
      },
    );
    // A refused one is answered and closed before its body is sent: the rest of the write fails.
    req.once('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    req.end(body);
  });
}

const statuses: Record<string, number> = {};
await Promise.all(
  tokens.map(async (token, n) => {
    while (performance.now() < until) {
      const status = await post(token, bodies[n % 2]!);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }),
);
console.log(JSON.stringify(statuses));
