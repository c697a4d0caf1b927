/**
 * Whether the auth checks of a message in memory are cheap enough for the event loop (issue 14,
 * measured: on a loaded 2-core machine, ordinary mail checked on the main thread went ~1.5×
 * faster than through the auth thread, whose every hop waits for a core). A DKIM verifier's
 * work grows with signatures × headers each names × headers it searches, and its body hashes
 * with the signatures: past these counts, or past PARSE_OFF_THREAD_BYTES, the thread takes it.
 * The worst within them we built (8 signatures with their own `l=`, each naming 480 headers of
 * 200 bytes, 228 KB) took 60–150 ms of the loop on that machine; past them, seconds
 * (test/hostile/auth-event-loop-stall.test.ts).
 */
export const AUTH_ON_LOOP_MAX_HEADERS = 500;
export const AUTH_ON_LOOP_MAX_SIGNATURES = 8;
/**
 * Lines of the header block, folded continuation lines included: mailauth's header split
 * (lib/tools.js parseHeaders, run on every message, signed or not) joins each continuation line
 * to its field by copying the field's lines so far, the square of a field's lines. An unsigned
 * 160 KB message whose Subject is folded into 40,000 lines held the event loop 6.1 s in
 * computeAuth; 60,000 lines (240 KB) are 15.4 s of parseHeaders alone; 990 lines, 4 ms
 * (2026-12-07, session 10).
 */
export const AUTH_ON_LOOP_MAX_LINES = 1000;

/**
 * Bytes of the signature fields (DKIM-Signature, ARC-*), folded lines included. A verifier looks
 * each name of a signature's `h=` up among all the fields: within the counts above, 8 signatures
 * naming 15,000 fields each over 480 fields (240 KB) held the loop 370 ms on a loaded 2-core
 * machine. Real signatures are under 2 KB each (a 4096-bit `b=` is 684 characters); 32 KiB in
 * all bounds `h=` to ~16,000 names, an eighth of that.
 */
export const AUTH_ON_LOOP_MAX_SIGNATURE_BYTES = 32 * 1024;

const LF = 0x0a;

export function cheapToCheck(raw: Buffer, maxBytes: number): boolean {
  if (raw.length > maxBytes) return false;
  let headers = 0;
  let signatures = 0;
  let lines = 0;
  let signatureBytes = 0;
  let inSignature = false;
  for (let at = 0; at < raw.length; ) {
    const c = raw[at];
    if (c === LF || (c === 0x0d && raw[at + 1] === LF)) break; // the empty line: end of the header block
    if (++lines > AUTH_ON_LOOP_MAX_LINES) return false;
    if (c !== 0x20 && c !== 0x09) {
      if (++headers > AUTH_ON_LOOP_MAX_HEADERS) return false;
      // DKIM-Signature, ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results: each one costs a verification.
      const name = raw.toString('latin1', at, Math.min(at + 15, raw.length)).toLowerCase();
      inSignature = name.startsWith('dkim-signature:') || name.startsWith('arc-');
      if (inSignature && ++signatures > AUTH_ON_LOOP_MAX_SIGNATURES) return false;
    }
    const next = raw.indexOf(LF, at);
    // A continuation line belongs to the field above it.
    if (inSignature && (signatureBytes += (next < 0 ? raw.length : next + 1) - at) > AUTH_ON_LOOP_MAX_SIGNATURE_BYTES) return false;
    if (next < 0) break;
    at = next + 1;
  }
  return true;
}
