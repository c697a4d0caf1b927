/**
 * What a big message may hold and still be parsed on the event loop (src/inbound/accept.ts): its
 * attachments are decoded chunk by chunk, the parse yielding between chunks, whatever their size;
 * what runs in one synchronous go is a part's header block and the text bodies (collected whole,
 * then converted). Within these bounds those cost what a message under PARSE_OFF_THREAD_BYTES
 * (256 KiB) may already cost the loop; past any of them the parse stops before that step and the
 * message goes to a parse thread, as every big message did before. The number of parts is
 * mailsplit's to bound (maxChildNodes, 1000: past it the parse ends in its error on either path);
 * 1,000 parts held the loop 8 ms at most, and 200 levels of nesting over an 8 MB body cost no more
 * than 2 (bench/README.md, big mail, session 10).
 */
export const ORDINARY = {
  /** The header blocks of all its parts together, in bytes (the small-message bound). */
  headerBytes: 256 * 1024,
  /** Fields in any one header block (cheapToCheck's bound, src/parse/auth-cost.ts). */
  headerFields: 500,
  /** Text bodies collected whole (text/plain, text/html, delivery status), in bytes as received. */
  textBytes: 256 * 1024,
  /** Multiparts and embedded messages nested inside one another (real mail: a handful). */
  depth: 100,
};

export type OrdinaryLimits = typeof ORDINARY;

/** Thrown by parseMessage when a message it was told to parse only if ordinary is not. */
export class NotOrdinaryError extends Error {
  constructor(readonly reason: string) {
    super(`not ordinary: ${reason}`);
  }
}
