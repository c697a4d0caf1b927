import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { dkimSign } from 'mailauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authCheck } from '../../src/inbound/auth-check.js';
import { PARSE_OFF_THREAD_BYTES } from '../../src/inbound/accept.js';
import { authThreadTasks } from '../../src/parse/auth-pool.js';
import { computeAuth, createAuthResolver } from '../../src/parse/auth.js';
import { parseThreadAuthTasks } from '../../src/parse/parse-pool.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * A message over PARSE_OFF_THREAD_BYTES is spooled to a file and parsed on a parse thread; its
 * SPF/DKIM/DMARC/ARC checks run there too, on the same read of the file (src/parse/tee.ts),
 * instead of on the auth thread reading the file a second time in an isolate of its own (a 55 MB
 * message cost up to ~70 MB of RSS more that way: bench/README.md, "Big mail and the auth
 * thread"). The results are the ones computeAuth gives for the same bytes, signed or not.
 * An unsigned one needs only its header block for them: it is checked on the event loop from that
 * block, and its parse thread runs no checks (nor loads mailauth: bench/README.md, big mail,
 * session 9).
 */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const zone = [
  { name: 'sel._domainkey.sender.test', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${p}` },
  { name: 'sender.test', type: 'TXT' as const, value: 'v=spf1 ip4:127.0.0.1 -all' },
  { name: '_dmarc.sender.test', type: 'TXT' as const, value: 'v=DMARC1; p=reject' },
];

/** ~`mb` MB: a text part and a base64 attachment, CRLF line ends. */
function bigMessage(mb: number): string {
  const b64 = randomBytes(mb * 750_000).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    'From: Alice <alice@sender.test>',
    'To: x@example.com',
    'Subject: big',
    'Message-ID: <big@sender.test>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--b',
    'Content-Type: application/octet-stream; name="a.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    b64,
    '--b--',
    '',
  ].join('\r\n');
}

async function sign(message: string): Promise<string> {
  const key = { signingDomain: 'sender.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const { signatures, errors } = await dkimSign(message, { ...key, signatureData: [key] });
  expect(errors).toEqual([]);
  return signatures + message;
}

let dns: TestDnsServer;
let deps: TestDeps | undefined;
let smtp: RunningSmtp | undefined;
beforeAll(async () => {
  dns = await startDnsServer(zone);
});
afterAll(() => dns.close());
afterEach(async () => {
  await smtp?.close();
  await deps?.cleanup();
  smtp = deps = undefined;
});

describe('a big spooled message is checked on its parse thread, on the one read of its spool file', () => {
  // [case, message, its DKIM result, checks the parse thread runs]
  const cases: [string, () => Promise<string>, string, number][] = [
    ['unsigned', async () => bigMessage(2), 'none', 0],
    ['signed', async () => sign(bigMessage(2)), 'pass', 1],
    ['signed, body changed after signing', async () => (await sign(bigMessage(2))).replace('see attached', 'see attacked'), 'fail', 1],
    // Past cheapToCheck's bounds the header block is too costly for the event loop: the thread checks it.
    ['unsigned, 600 header fields', async () => Array.from({ length: 600 }, (_, i) => `X-Filler-${i}: ${i}\r\n`).join('') + bigMessage(2), 'none', 1],
  ];
  it.each(cases)('%s: the same results as computeAuth on its bytes, no task for the auth thread; the parse thread checks it only when its header block cannot settle them cheaply', async (_, make, dkim, onParseThread) => {
    const raw = await make();
    expect(raw.length).toBeGreaterThan(PARSE_OFF_THREAD_BYTES);
    deps = testDeps({ AUTH_CHECKS: 'true', DNS_SERVERS: dns.address });
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    await addRoute(deps, { userId: user.id, domainId: domain.id });
    smtp = await startSmtp(deps, { checkAuth: authCheck(deps) });
    const before = authThreadTasks();
    const onParseThreadBefore = parseThreadAuthTasks();

    const info = await smtp.transport.sendMail({ envelope: { from: 'bounces@sender.test', to: ['x@example.com'] }, raw });
    expect(info.response).toMatch(/^250 /);
    const id = /msg_\w+/.exec(info.response ?? '')![0]!;
    const stored = (await deps.repos.messages.getById(id))!;

    const env = { remoteIp: '127.0.0.1', helo: stored.envelope.helo, mailFrom: 'bounces@sender.test' };
    const expected = await computeAuth(Buffer.from(raw), env, { resolver: createAuthResolver([dns.address], 2000), mta: deps.config.mxHost, timeoutMs: 5000 });
    expect(expected.dkim).toBe(dkim);
    expect(stored.auth).toEqual(expected);
    expect(authThreadTasks() - before, 'checks handed to the auth thread (a second read of the spool file)').toBe(0);
    expect(parseThreadAuthTasks() - onParseThreadBefore, 'checks run on the parse thread').toBe(onParseThread);
  }, 60_000);
});
