import { RE2JS } from 're2js';

/**
 * The regular expressions users put in routes (DESIGN §5), run by RE2 (re2js: RE2/J's engine,
 * Google's RE2 ported to JavaScript).
 *
 * Why not `new RegExp`: V8 backtracks, so a route like /(a+)+$/ or /a*a*a*a*b/ can pin the
 * event loop for minutes on a 300-character recipient and stall every SMTP session (inv. 5).
 * RE2 has no backtracking: a match costs at most (input length + 1) x program size steps, and
 * usually one step a character (its DFA). So the program size is capped: that bounds the worst
 * case, which RE2 reaches when a pattern's DFA outgrows its cache.
 *
 * Why re2js rather than the native `re2` or `re2-wasm`: the native build downloads a binary from
 * GitHub before it falls back to compiling C++ (our installs reach only the npm registry);
 * re2-wasm runs in a fixed 16 MiB heap that one large pattern exhausts, aborting the module for
 * every route of every account, and never frees a compiled pattern. re2js is plain JavaScript
 * (garbage-collected, no install step) and reports the program size.
 *
 * Syntax: RE2's (word boundaries, Unicode classes \p{L}, named groups, (?i) flags, [[:alpha:]],
 * \Q…\E). Refused: backreferences and lookarounds (no linear-time algorithm). Matching is
 * anchored at both ends and case-insensitive.
 */

export const MAX_REGEX_LENGTH = 200;
/** Bounds the work per input character in RE2's worst case; counted repetitions expand into it. */
export const MAX_PROGRAM_SIZE = 1000;

export interface RouteRegex {
  /** RE2's program size: a match costs at most (input length + 1) x size steps. */
  size: number;
  test(input: string): boolean;
  /** DFA states RE2 caches for this pattern now. */
  dfaStates(): number;
}

/**
 * DFA states all compiled patterns may hold together. RE2 caches its DFA per pattern, up to
 * 8 MiB each: one tenant's routes built to grow that cache (filters, up to 1,000 per domain)
 * against a sender's headers held ~2.4 KB a state, ~73 MB for 30 patterns, so the caches are
 * cleared together once they pass this total (~25 MB). Clearing costs speed, never a result.
 */
export const MAX_DFA_STATES = 10_000;
const held = new Map<RE2JS, number>();
let heldStates = 0;

/** DFA states the compiled patterns hold now (tests prove the bound with it). */
export const dfaStatesHeld = () => heldStates;

function account(re: RE2JS): void {
  // Typed as always there, but the DFA is built on first use only.
  const dfa = re.re2().lazyDFA as { stateCount: number; clearCache(): void } | null;
  if (!dfa) return;
  heldStates += dfa.stateCount - (held.get(re) ?? 0);
  held.set(re, dfa.stateCount);
  if (heldStates <= MAX_DFA_STATES && held.size <= 1000) return;
  for (const r of held.keys()) (r.re2().lazyDFA as { clearCache(): void } | null)?.clearCache();
  held.clear();
  heldStates = 0;
}

/** Syntax people try that RE2 refuses by design, named so the 400 says why. */
function unsupported(source: string): string | null {
  if (/\(\?<?[=!]/.test(source)) return 'lookarounds are not supported (no linear-time engine can run them)';
  if (/(^|[^\\])(\\\\)*\\([1-9]|k<)/.test(source)) return 'backreferences are not supported (no linear-time engine can run them)';
  return null;
}

function compile(pattern: string): RE2JS {
  return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
}

/** Compiles `source` (the text between the slashes) or returns why it is refused. */
export function compileRouteRegex(source: string): RouteRegex | { error: string } {
  if (source.length === 0) return { error: 'empty regular expression' };
  if (source.length > MAX_REGEX_LENGTH) return { error: `regular expression longer than ${MAX_REGEX_LENGTH} characters` };
  const why = unsupported(source);
  if (why) return { error: `invalid regular expression: ${why}` };
  let re: RE2JS;
  try {
    // Valid on its own first: then its parentheses balance and the anchoring group around it
    // cannot be closed early (`a)|(b` would otherwise match "b" anywhere).
    compile(source);
    re = compile(`^(?:${source})$`);
  } catch (err) {
    const message = (err as Error).message.replace(/^error parsing regexp: /, '');
    return { error: `invalid regular expression: ${message}` };
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE) return { error: `invalid regular expression: pattern is too complex (${size} instructions, at most ${MAX_PROGRAM_SIZE})` };
  return {
    size,
    test(input) {
      const matched = re.test(input);
      account(re);
      return matched;
    },
    dfaStates: () => (re.re2().lazyDFA as { stateCount: number } | null)?.stateCount ?? 0,
  };
}
