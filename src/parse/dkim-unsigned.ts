import { createRequire } from 'node:module';
import type { DKIMVerifyResult, DNSResolver } from 'mailauth';

/**
 * DKIM verification of an unsigned message without streaming its body through mailauth's
 * message parser (issue 14: its byte-at-a-time header scan and line-break pass were ~5 % of the
 * event loop, on mail that carries no DKIM-Signature or ARC header at all).
 *
 * Exact by construction: mailauth's own `DkimVerifier` is given the header block that its
 * `MessageParser` would have found, and its own `messageHeaders()` decides what the body is
 * needed for. The body only ever feeds the body hashes (`nextChunk`), and `finalChunk` returns
 * before reading anything when there are none; so when `messageHeaders()` made no body hash (no
 * DKIM-Signature it could use, no ARC chain, no seal), running `finish()` without the body gives
 * the very object `dkimVerify(raw)` would: the `none` result with its `info`, `headerFrom`,
 * `envelopeFrom`, and the non-enumerable `headers` and `arc`. Otherwise (a signature to check),
 * or whenever the header block is not one this shortcut can delimit the same way (a bare LF
 * before its end, no end at all), it answers undefined and the caller runs `dkimVerify` in full.
 * test/parse/dkim-unsigned.test.ts holds it to mailauth's own full run.
 */

interface Verifier {
  bodyHashes: Map<string, unknown>;
  headers: unknown;
  headerFrom: string[];
  envelopeFrom: string | false;
  results: DKIMVerifyResult['results'];
  arc?: unknown;
  seal?: unknown;
  messageHeaders(headers: unknown): Promise<void>;
  finish(): Promise<void>;
}
type VerifierClass = new (options: { resolver: DNSResolver }) => Verifier;

// mailauth has no "exports" map: its lib/ modules are reachable, and these two are what dkimVerify() itself uses.
const require = createRequire(import.meta.url);
let lib: { DkimVerifier: VerifierClass; parseHeaders: (buf: Buffer) => unknown } | undefined;
const load = () =>
  (lib ??= {
    DkimVerifier: (require('mailauth/lib/dkim/dkim-verifier.js') as { DkimVerifier: VerifierClass }).DkimVerifier,
    parseHeaders: (require('mailauth/lib/tools.js') as { parseHeaders: (buf: Buffer) => unknown }).parseHeaders,
  });

const CR = 0x0d;
const LF = 0x0a;

/**
 * Where mailauth's MessageParser ends the header block (the index just past the blank line's
 * LF), for a message whose header block has CRLF line ends only; -1 when it has a bare LF
 * (mailauth would insert CRs first) or no blank line (mailauth then reads the whole message as
 * headers, after deciding the results): those take the full run.
 */
export function headerBlockEnd(raw: Buffer): number {
  for (let at = raw.indexOf(LF); at >= 0; at = raw.indexOf(LF, at + 1)) {
    if (at === 0 || raw[at - 1] !== CR) return -1;
    if (raw[at + 1] === CR && raw[at + 2] === LF) return at + 3;
  }
  return -1;
}

/** What `dkimVerify(raw, { resolver })` answers, when that needs no body; else undefined. */
export async function dkimVerifyUnsigned(raw: Buffer, resolver: DNSResolver): Promise<DKIMVerifyResult | undefined> {
  const end = headerBlockEnd(raw);
  if (end < 0) return undefined;
  const { DkimVerifier, parseHeaders } = load();
  const verifier = new DkimVerifier({ resolver });
  // MessageParser hands parseHeaders a copy of the header bytes (Buffer.concat): so do we.
  await verifier.messageHeaders(parseHeaders(Buffer.from(raw.subarray(0, end))));
  if (verifier.bodyHashes.size > 0) return undefined;
  await verifier.finish();
  // The same shape as mailauth's dkimVerify() (lib/dkim/verify.js).
  const result = { headerFrom: verifier.headerFrom, envelopeFrom: verifier.envelopeFrom, results: verifier.results };
  for (const key of ['headers', 'arc', 'seal'] as const) {
    if (verifier[key]) Object.defineProperty(result, key, { enumerable: false, configurable: false, writable: false, value: verifier[key] });
  }
  return result as DKIMVerifyResult;
}
