import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from '@hono/zod-openapi';
import { HttpError } from '../errors.js';
import { parseJsonOffThread, parseOffThread } from '../parse/parse-pool.js';
import type { ParsedMessage } from '../parse/types.js';
import { describeIssues, type ApiEnv } from './openapi.js';

/** The dry run's body may carry a whole message (other API bodies: 1 MiB, app.ts). */
export const MAX_DRY_RUN_BODY = 10 * 1024 * 1024;

/**
 * A body up to this size is decoded and JSON-parsed on the event loop (well under a millisecond);
 * a larger one on a parse thread, with the message it carries: 8 MB of TextDecoder, JSON.parse
 * and re-encoding was 50–200 ms of the event loop per dry run, and forty at once held it 2.5 s
 * (issue 14; test/hostile/parse-event-loop-stall.test.ts).
 */
const ON_LOOP_BYTES = 64 * 1024;

/** The media types Hono's JSON validator takes. */
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

// Closed, as the slot's 429 is (dry-run-slots.ts): else Node reads the rest of it to keep the connection.
const tooLarge = (max: number) => new HttpError(413, `request body larger than ${max} bytes`, { Connection: 'close' });
const malformed = () => new HttpError(400, 'Malformed JSON in request body');

/**
 * The request body as bytes in one ArrayBuffer of its own (so that it can be moved to a thread),
 * read chunk by chunk as it arrives and never more than `max` of it.
 */
async function readBody(req: Request, max: number): Promise<ArrayBuffer> {
  if (!req.body) return new ArrayBuffer(0);
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > max) throw tooLarge(max);
  let buf = new Uint8Array(Number.isSafeInteger(declared) && declared > 0 ? declared : 64 * 1024);
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      void reader.cancel().catch(() => undefined);
      throw tooLarge(max);
    }
    if (size + value.byteLength > buf.byteLength) {
      const grown = new Uint8Array(Math.min(max, Math.max(size + value.byteLength, buf.byteLength * 2)));
      grown.set(buf.subarray(0, size));
      buf = grown;
    }
    buf.set(value, size);
    size += value.byteLength;
  }
  return size === buf.byteLength ? buf.buffer : buf.buffer.slice(0, size);
}

export interface DryRunInput<T> {
  body: T;
  /** The message of `body.raw`, parsed (on a parse thread, in the account's lane). */
  message(): Promise<ParsedMessage>;
}

/**
 * Reads, decodes and validates a dry run's JSON body against `schema` with the API's error
 * contract: a body that is not JSON 400 `Malformed JSON in request body`, a field that does not
 * fit 400 naming it, another media type 415, over `max` 413. A large body is decoded on a parse
 * thread, which parses its `raw` member there and then (`raw` is checked as the empty string: its
 * only constraint is to be a string); a small one here, its message parsed when asked for.
 */
export async function readDryRun<S extends z.ZodType>(c: Context<ApiEnv>, schema: S, lane: string, max = MAX_DRY_RUN_BODY): Promise<DryRunInput<z.infer<S>>> {
  const type = c.req.header('content-type');
  const hasBody = c.req.header('transfer-encoding') !== undefined || Number(c.req.header('content-length') ?? 0) > 0;
  // As the route's validator did (@hono/zod-openapi): another media type is refused unread.
  if (type ? !JSON_MEDIA.test(type.split(';')[0]!.trim()) : hasBody) throw new HTTPException(415, { message: 'Unsupported Media Type' });
  const bytes = type ? await readBody(c.req.raw, max) : null;

  let value: unknown = {};
  let parsed: Promise<ParsedMessage> | null = null;
  if (bytes && bytes.byteLength > ON_LOOP_BYTES) {
    const result = await parseJsonOffThread(bytes, 'raw', lane);
    if (!result.ok) throw malformed();
    value = result.outcome ? { ...(result.value as object), raw: '' } : result.value;
    if (result.outcome) parsed = Promise.resolve(result.outcome.parsed);
  } else if (bytes) {
    try {
      value = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw malformed();
    }
  }
  const checked = schema.safeParse(value);
  if (!checked.success) throw new HttpError(400, describeIssues(checked.error.issues, 'json'));
  const body = checked.data;
  const raw = (value as { raw?: unknown }).raw;
  return {
    body,
    message: () =>
      (parsed ??= parseOffThread({ raw: Buffer.from(typeof raw === 'string' ? raw : '', 'utf8'), path: null }, null, lane).then((o) => o.parsed)),
  };
}
