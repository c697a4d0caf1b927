/**
 * A header-derived value as one line. Encoded words can carry CR and LF (`=0D=0A`), and a
 * receiver that copies a subject, a display name or a message id into a header of its own
 * would then write the sender's header: each run of them becomes one space, as unfolding
 * (RFC 5322 §2.2.3) makes of a fold, and none is left at either end.
 */
export function oneLine(value: string): string {
  return /[\r\n]/.test(value) ? value.replace(/[\r\n]+/g, ' ').trim() : value;
}
