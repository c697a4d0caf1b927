/**
 * An attachment's filename as the payload, the stored record, the API and the dashboard carry
 * it. A name can arrive with line breaks: folded inside its quoted string (RFC 5322 §2.2.3), or
 * decoded from an encoded word (`=0D=0A`) or an RFC 2231 value (`%0D%0A`), and a receiver that
 * writes it into a header of its own (Content-Disposition) would then write the sender's header.
 * A fold is unfolded (CRLF + WSP → the WSP); then each run of control characters (Unicode Cc:
 * U+0000–U+001F, U+007F–U+009F) becomes one space, or nothing at either end of the name.
 * Everything else stays as the sender wrote it, spaces included.
 */
export function cleanFilename(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\x00-\x1f\x7f-\x9f]/.test(name)) return name;
  return name
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/\p{Cc}+/gu, (run: string, at: number, all: string) => (at === 0 || at + run.length === all.length ? '' : ' '));
}
