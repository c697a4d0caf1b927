/**
 * The send path's bookkeeping around the message, alone (issue 12, send7): per request the API
 * key, its user, the sending domain and the event's domain, the ids of a send (snd, rcp, evt), and
 * the outbound pass's pendingDestinations with `PENDING` rows at one busy destination. Real SQLite
 * (a temporary DATA_DIR), no HTTP, no composing. Prints CPU µs per step.
 *
 *   node --import tsx bench/send-lookups.ts [checkout]   (default: this one)
 *
 * `checkout` is a directory with the same src/ layout (e.g. a `git archive` of an earlier commit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const ITER = Number(process.env.BENCH_LOOKUPS_ITER ?? 20_000);
const PENDING = Number(process.env.BENCH_LOOKUPS_PENDING ?? 600);

const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(root, 'src', path)).href)) as T;

type AnyFn = (...a: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
const { loadConfig } = await load<{ loadConfig: AnyFn }>('config.ts');
const { createDeps } = await load<{ createDeps: AnyFn }>('deps.ts');
const { createApiKey, findApiKey } = await load<{ createApiKey: AnyFn; findApiKey: AnyFn }>('auth/api-keys.ts');
const { newId } = await load<{ newId: AnyFn }>('ids.ts');

const dir = mkdtempSync(join(tmpdir(), 'send-lookups-'));
const deps = createDeps(
  loadConfig({ DATA_DIR: dir, SECRET: 'bench-secret-bench-secret-bench-secret-0123', SMTP_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'silent', AUTH_CHECKS: 'false' }),
);
const now = Date.now();
const user = { id: newId('usr'), email: 'bench@bench.test', passwordHash: null, googleSub: null, createdAt: now };
await deps.repos.users.insert(user);
const domain = { id: newId('dom'), userId: user.id, name: 'bench.test', status: 'verified', verificationToken: 't', verifiedAt: now, webhookUrl: 'http://127.0.0.1:1/hook', webhookSecret: 'whsec_x', createdAt: now };
await deps.repos.domains.insert(domain);
const { secret } = await createApiKey(deps, { userId: user.id, name: 'bench', scopes: ['send'], domainId: null });
for (let i = 0; i < PENDING; i += 10) {
  const id = newId('snd');
  await deps.repos.submitSend(
    {
      id, userId: user.id, domainId: domain.id, kind: 'send', sourceMessageId: null, routeId: null, fromAddress: 'a@bench.test', subject: 's',
      messageId: `<${id}@bench.test>`, mailFrom: `bounce+${id}@bench.test`, createdAt: now, raw: Buffer.from('x'),
      recipients: Array.from({ length: 10 }, (_, k) => ({ id: newId('rcp'), address: `r${i + k}@dest.test`, dest: 'dest.test' })),
    },
    null,
  );
}

async function measure(name: string, step: () => unknown): Promise<void> {
  for (let i = 0; i < 500; i++) await step(); // warm
  const before = process.cpuUsage();
  for (let i = 0; i < ITER; i++) await step();
  const used = process.cpuUsage(before);
  console.log(`${name.padEnd(36)} ${((used.user + used.system) / ITER).toFixed(2)} µs`);
}

console.log(`${root}: ${ITER} iterations, ${PENDING} pending recipients at one destination`);
await measure('findApiKey (key + user)', () => findApiKey(deps, secret));
const { sha256Hex } = await load<{ sha256Hex: AnyFn }>('auth/secrets.ts');
const hash = sha256Hex(secret);
await measure('  of which sha256Hex', () => sha256Hex(secret));
await measure('  of which apiKeys.getByKeyHash', () => deps.repos.apiKeys.getByKeyHash(hash));
await measure('  of which users.get', () => deps.repos.users.get(user.id));
await measure('domains.getByName + getById', async () => {
  await deps.repos.domains.getByName(user.id, 'bench.test');
  await deps.repos.domains.getById(domain.id);
});
await measure('newId snd + rcp + evt', () => {
  newId('snd');
  newId('rcp');
  newId('evt');
});
await measure('outbound.pendingDestinations', () => deps.repos.outbound.pendingDestinations());
await deps.repos.close();
rmSync(dir, { recursive: true, force: true });
