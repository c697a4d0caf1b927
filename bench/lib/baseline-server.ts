/**
 * The baselines, each its own process like Mailhook: smtp-server with Mailhook's exact options
 * (smtpServerOptions(config) from src/smtp/server.ts, the same environment) and
 *   discard  — reads each message to the end and throws it away;
 *   parse    — also parses it with mailparser (Mailhook's parser options), draining attachments;
 *   forward  — parses, answers 250, then POSTs a small JSON to a webhook URL (no storage, no queue):
 *              the floor of "250 → webhook" for any design that answers before it delivers;
 *   store    — parses and, meanwhile, writes the message to its own fsync'd file with Mailhook's
 *              FsBlobStore under DATA_DIR: the floor of any design that keeps each message
 *              durable as a file before its 250 (what the disk allows, without a database);
 *   deliver  — store, then after the 250 POSTs the parsed message (subject, from, text, html) as
 *              JSON to the webhook URL: the floor of the whole pipeline's shape (durable file,
 *              webhook) without a database, routing, queue, retries or signing.
 *   sqlite   — (f): parses and INSERTs the raw message into SQLite (WAL, synchronous=FULL), the
 *              inserts of one turn of the event loop in one transaction (a group commit) before
 *              their 250s, then POSTs like deliver: the least work that keeps DESIGN §1
 *              invariant 1 with small blobs in the database (DESIGN §3).
 * Usage: node --import tsx bench/lib/baseline-server.ts <mode> <port> [webhook-url]
 */
import Database from 'better-sqlite3';
import http from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { MailParser, type AttachmentStream, type MessageText } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../src/config.js';
import { newId } from '../../src/ids.js';
import { spool } from '../../src/inbound/spool.js';
import { rawKey } from '../../src/store/blob-store.js';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';
import { PARSER_OPTIONS } from '../../src/parse/parse-message.js';
import { smtpServerOptions } from '../../src/smtp/server.js';

const [mode = 'discard', portArg = '0', hookUrl = ''] = process.argv.slice(2);
const config = loadConfig(process.env);
const agent = new http.Agent({ keepAlive: true });
const blobs = new FsBlobStore(join(config.dataDir, 'blobs'));

/** (f)'s group commit: every insert queued in one turn of the event loop, one synchronous=FULL commit. */
function sqliteStore() {
  const db = new Database(join(config.dataDir, 'baseline.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, raw BLOB NOT NULL) STRICT');
  const insert = db.prepare('INSERT INTO messages (id, raw) VALUES (?, ?)');
  let queue: { id: string; raw: Buffer; done(err: Error | null): void }[] = [];
  const commit = db.transaction((batch: typeof queue) => batch.forEach((m) => insert.run(m.id, m.raw)));
  const flush = () => {
    const batch = queue;
    queue = [];
    let err: Error | null = null;
    try {
      commit(batch);
    } catch (e) {
      err = e as Error;
    }
    batch.forEach((m) => m.done(err));
  };
  return (id: string, raw: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ id, raw, done: (err) => (err ? reject(err) : resolve()) });
    });
}
const insertRaw = mode === 'sqlite' ? sqliteStore() : null;

interface Parsed {
  subject: string;
  from: string;
  text: string;
  html: string;
}

function parse(stream: Readable): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const parser = new MailParser(PARSER_OPTIONS);
    const parsed: Parsed = { subject: '', from: '', text: '', html: '' };
    parser.on('headers', (headers) => {
      parsed.subject = parser.subject ?? '';
      parsed.from = String((headers.get('from') as { text?: string } | undefined)?.text ?? '');
    });
    parser.on('data', (d: AttachmentStream | MessageText) => {
      if (d.type === 'text') {
        parsed.text = d.text ?? '';
        parsed.html = typeof d.html === 'string' ? d.html : '';
        return;
      }
      d.content.on('end', () => d.release?.());
      d.content.resume();
    });
    parser.once('end', () => resolve(parsed));
    parser.once('error', reject);
    stream.pipe(parser);
  });
}

function post(p: Parsed): void {
  const body = JSON.stringify({ type: 'email.received', data: p });
  const req = http.request(hookUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  req.on('response', (res) => res.resume());
  req.on('error', () => {});
  req.end(body);
}

const server = new SMTPServer({
  ...smtpServerOptions(config),
  onRcptTo(_address, _session, callback) {
    callback();
  },
  onData(stream, _session, callback) {
    if (mode === 'sqlite') {
      spool(join(config.dataDir, 'spool'), stream, config.spoolMemoryBytes)
        .then(async (raw) => {
          const [parsed] = await Promise.all([parse(raw.open()), raw.buffer ? Promise.resolve() : Promise.reject(new Error('over the memory spool'))]);
          await insertRaw!(newId('msg'), raw.buffer!);
          return parsed;
        })
        .then(
          (parsed) => {
            callback(null, 'Ok');
            post(parsed);
          },
          (err: Error) => callback(Object.assign(err, { responseCode: 451 })),
        );
      return;
    }
    if (mode === 'store' || mode === 'deliver') {
      const id = newId('msg');
      spool(join(config.dataDir, 'spool'), stream, config.spoolMemoryBytes)
        .then((raw) => Promise.all([parse(raw.open()), blobs.put(rawKey(id), raw.buffer ?? raw.open())]))
        .then(
          ([parsed]) => {
            callback(null, 'Ok');
            if (mode === 'deliver') post(parsed);
          },
          (err: Error) => callback(Object.assign(err, { responseCode: 451 })),
        );
      return;
    }
    if (mode === 'discard') {
      stream.on('end', () => callback(stream.sizeExceeded ? Object.assign(new Error('Message too big'), { responseCode: 552 }) : null, 'Ok'));
      stream.resume();
      return;
    }
    // Like Mailhook, MIME the parser gives up on is still accepted: read to the end, answer 250.
    parse(stream).then(
      (parsed) => {
        callback(null, 'Ok');
        if (mode === 'forward') post(parsed);
      },
      () => {
        stream.resume();
        const done = () => callback(null, 'Ok (parse error)');
        finished(stream).then(done, done);
      },
    );
  },
});
server.listen(Number(portArg), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
