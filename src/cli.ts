import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from './api/app.js';
import { createSession } from './auth/sessions.js';
import { ConfigError, dataDirOf, loadConfig } from './config.js';
import { createDeps, type Deps } from './deps.js';
import { backupDatabase, OpsError, restoreDatabase } from './ops/backup.js';
import { opsSnapshots } from './ops/snapshot.js';
import { statusReport } from './ops/status.js';

const USAGE = `mailhook: admin commands for a self-hosted Mailhook (same DATA_DIR as the server)

  mailhook user create --email EMAIL --password PASSWORD
      Creates an account; prints its session token.
  mailhook token create --email EMAIL
      Prints a new session token for an existing account.
  mailhook domain verify NAME --email EMAIL [--force]
      Checks the domain's DNS records now; --force marks it verified, for receiving and
      for sending (DKIM), without DNS (for local testing, or when you manage DNS some other way).
  mailhook send --email EMAIL --from ADDRESS --to ADDRESS --subject TEXT (--text TEXT | --html HTML)
      [--to, --cc, --bcc ADDRESS]... [--reply-to ADDRESS] [--text-file FILE] [--html-file FILE]
      [--attach FILE]... [--reply-to-message-id msg_…] [--idempotency-key KEY]
      POST /v1/send as EMAIL's account: prints { id, status: "queued" } once the send is
      committed; the running server delivers it (within a second), then GET /api/sends/:id.
  mailhook dns serve --zone FILE [--port 5300]
      A DNS server on 127.0.0.1 (UDP and TCP) for trying Mailhook without a real domain:
      answers from FILE, what POST /api/domains returned (or an array of records), read
      again whenever it changes; a missing FILE has no records. Start Mailhook with
      DNS_SERVERS=127.0.0.1:PORT. Needs no DATA_DIR; runs until Ctrl-C.
  mailhook backup FILE
      A consistent copy of the database, taken while the server runs (FILE must not exist).
      Holds every row; not the files under DATA_DIR/blobs, S3 objects or DATA_DIR/secret.
  mailhook restore FILE
      Makes FILE the database of DATA_DIR, which must be empty or missing.
  mailhook status
      Queue depths, the oldest due item, the last retention sweep, the database size.

Everything else goes through the API (see README), e.g. with the token printed above.`;

class CliError extends Error {}

const SEND_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  cc: { type: 'string', multiple: true },
  bcc: { type: 'string', multiple: true },
  'reply-to': { type: 'string' },
  subject: { type: 'string' },
  text: { type: 'string' },
  html: { type: 'string' },
  'text-file': { type: 'string' },
  'html-file': { type: 'string' },
  attach: { type: 'string', multiple: true },
  'reply-to-message-id': { type: 'string' },
  'idempotency-key': { type: 'string' },
} as const;

type SendValues = { [K in keyof typeof SEND_OPTIONS]?: (typeof SEND_OPTIONS)[K] extends { multiple: true } ? string[] : string };

function readArg(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliError(`--${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The /v1/send body from the flags; the API validates it (and names a bad field) as for any client. */
function sendBody(v: SendValues): Record<string, unknown> {
  if (v.text !== undefined && v['text-file'] !== undefined) throw new CliError('give --text or --text-file, not both');
  if (v.html !== undefined && v['html-file'] !== undefined) throw new CliError('give --html or --html-file, not both');
  return {
    from: v.from,
    to: v.to ?? [],
    cc: v.cc,
    bcc: v.bcc,
    reply_to: v['reply-to'],
    subject: v.subject,
    text: v['text-file'] !== undefined ? readArg(v['text-file'], 'text-file').toString('utf8') : v.text,
    html: v['html-file'] !== undefined ? readArg(v['html-file'], 'html-file').toString('utf8') : v.html,
    attachments: v.attach?.map((file) => ({ filename: basename(file), content: readArg(file, 'attach').toString('base64') })),
    reply_to_message_id: v['reply-to-message-id'],
    idempotency_key: v['idempotency-key'],
  };
}

async function userByEmail(deps: Deps, email: string) {
  const user = await deps.repos.users.getByEmail(email.trim().toLowerCase());
  if (!user) throw new CliError(`no account with email ${email}`);
  return user;
}

/** Runs one API call in-process as `userId`: the CLI has no logic of its own. */
async function api(deps: Deps, userId: string | null, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': '127.0.0.1' };
  if (userId) headers.authorization = `Bearer ${await createSession(deps, userId)}`;
  const res = await createApp(deps).request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new CliError(`${method} ${path}: ${res.status} ${String(json.error)}`);
  return json;
}

async function run(deps: Deps, argv: string[]): Promise<unknown> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean' },
      ...SEND_OPTIONS,
    },
  });
  const [noun, verb, arg] = positionals;
  const need = (v: string | undefined, name: string) => {
    if (!v) throw new CliError(`missing --${name}`);
    return v;
  };
  switch ([noun, verb].filter(Boolean).join(' ')) {
    case 'user create':
      return api(deps, null, 'POST', '/api/auth/signup', { email: need(values.email, 'email'), password: need(values.password, 'password') });
    case 'token create': {
      const user = await userByEmail(deps, need(values.email, 'email'));
      return { token: await createSession(deps, user.id), user: { id: user.id, email: user.email } };
    }
    case 'domain verify': {
      const user = await userByEmail(deps, need(values.email, 'email'));
      const name = need(arg, 'domain name (NAME)').trim().toLowerCase().replace(/\.$/, '');
      const domain = await deps.repos.domains.getByName(user.id, name);
      if (!domain) throw new CliError(`${user.email} has no domain ${name}; add it with POST /api/domains first`);
      if (!values.force) return api(deps, user.id, 'POST', `/api/domains/${domain.id}/verify`);
      const holder = await deps.repos.domains.findVerified(name);
      if (holder && holder.id !== domain.id) throw new CliError(`${name} is already verified by another account`);
      const now = deps.now();
      await deps.repos.domains.setStatus(domain.id, 'verified', now, { checked_at: now, ok: true, records: [], forced: true });
      // The GET makes the DKIM key of a domain that has none yet; then sending counts as verified too.
      await api(deps, user.id, 'GET', `/api/domains/${domain.id}`);
      await deps.repos.domains.setDkimVerified(domain.id, now);
      return api(deps, user.id, 'GET', `/api/domains/${domain.id}`);
    }
    case 'status':
      return statusReport(await opsSnapshots(deps)());
    case 'send': {
      const user = await userByEmail(deps, need(values.email, 'email'));
      return api(deps, user.id, 'POST', '/v1/send', sendBody(values));
    }
    default:
      throw new CliError(USAGE);
  }
}

/** backup and restore work on the file, not through deps: restore needs DATA_DIR untouched. */
async function database(argv: string[]): Promise<unknown> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const [verb, file, extra] = positionals;
  if (!file || extra) throw new CliError(`usage: mailhook ${verb} FILE`);
  if (verb === 'backup') return backupDatabase(dataDirOf(), file);
  return restoreDatabase(file, dataDirOf());
}

/** `dns serve` needs no DATA_DIR; dns2 is loaded only here, so other commands don't pay for it. */
async function dns(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { zone: { type: 'string' }, port: { type: 'string', default: '5300' } },
  });
  if (positionals.join(' ') !== 'dns serve') throw new CliError(USAGE);
  if (!values.zone) throw new CliError('missing --zone');
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new CliError(`--port must be a port number, got "${values.port}"`);
  const { serveZoneFile } = await import('./dev/dns-serve.js');
  try {
    await serveZoneFile(values.zone, port, console.log, console.error);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new CliError(`cannot listen on 127.0.0.1:${port} (${code}); pick another --port`);
    throw err;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  let deps: Deps | undefined;
  try {
    if (argv[0] === 'dns') return await dns(argv);
    if (argv[0] === 'backup' || argv[0] === 'restore') return console.log(JSON.stringify(await database(argv), null, 2));
    deps = createDeps(loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }));
    console.log(JSON.stringify(await run(deps, argv), null, 2));
  } catch (err) {
    if (err instanceof CliError || err instanceof ConfigError || err instanceof OpsError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(err instanceof CliError && err.message === USAGE ? USAGE : `mailhook: ${(err as Error).message}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await deps?.repos.close();
  }
}

await main();
