/**
 * Composing and signing alone (src/send/compose.ts): BENCH_COMPOSES (2000) messages, the 4 KB
 * text of bench/send.ts, 10 at once, after 300 not counted; prints this process's CPU per
 * message (the RSA signature on the thread pool included, ~0.4 ms of it) and, apart, the relaxed
 * body hash of the same message. Usage, to compare two checkouts:
 * node --import tsx bench/compose.ts [path/to/checkout]
 */
import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const count = Number(process.env.BENCH_COMPOSES ?? 2000);
const { compose, newMessageId } = (await import(`${root}/src/send/compose.ts`)) as typeof import('../src/send/compose.js');
const { relaxedBodyHash, bodyStart } = (await import(`${root}/src/send/dkim-sign.ts`)) as typeof import('../src/send/dkim-sign.js');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signer = { domain: 'bench.test', selector: 'mh1', privateKey };
const TEXT = 'x'.repeat(76).concat('\n').repeat(53);
const message = (n: number) => ({ from: 'app@bench.test', to: [`r${n}@mx.test`], cc: [], bcc: [], replyTo: [], subject: `bench ${n}`, text: TEXT, headers: {}, attachments: [] });

const perMessage = async (n: number, f: (i: number) => Promise<unknown>) => {
  let next = 0;
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < n) await f(next++);
  }));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
};
const composeOne = (i: number) => compose(message(i), signer, newMessageId('bench.test'), new Date());
await perMessage(300, composeOne);
const composed = await perMessage(count, composeOne);
const raw = await composeOne(0);
const body = raw.subarray(bodyStart(raw));
await perMessage(2000, async () => relaxedBodyHash(body));
const hashed = await perMessage(count * 5, async () => relaxedBodyHash(body));
console.log(`${root}: compose + sign ${composed.toFixed(0)} µs CPU per message; relaxed body hash ${hashed.toFixed(1)} µs (${body.length} bytes)`);
