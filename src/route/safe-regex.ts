import { parse, RegexError, type Node, type Test } from './regex-parse.js';

/**
 * A linear-time matcher for the regex subset users may put in routes (DESIGN §5).
 *
 * Why not `new RegExp`: V8 backtracks, so a route like /(a+)+$/ or /a*a*a*a*b/ can pin the
 * event loop for minutes on a 300-character recipient and stall every SMTP session (inv. 5).
 * Here the pattern is compiled to a Thompson NFA and simulated state-set by state-set (Pike VM
 * without captures): each input character visits every program instruction at most once, so
 * a match costs at most (input length + 1) × program size steps, whatever the pattern.
 *
 * Supported: literals, `.`, escapes \d \w \s \D \W \S \t \n \r and escaped punctuation,
 * classes [a-z] [^…], groups ( ) and (?: ), `|`, quantifiers * + ? {n} {n,} {n,m} (lazy `?`
 * accepted; it cannot change a yes/no answer), `^` first and `$` last (the match is always
 * anchored). Refused: backreferences and lookarounds (no linear algorithm), word boundaries.
 * Matching is case-insensitive.
 */

export const MAX_REGEX_LENGTH = 200;
/** Bounds the work per input character; {n,m} expansion counts against it. */
export const MAX_PROGRAM_SIZE = 1000;

type Inst =
  | { op: 'char'; test: Test; next: number }
  | { op: 'split'; a: number; b: number }
  | { op: 'jmp'; to: number }
  | { op: 'match' };

export interface SafeRegex {
  size: number;
  test(input: string): boolean;
  /** `test` plus the number of steps it took: tests prove the linear bound with it. */
  run(input: string): { matched: boolean; steps: number };
}

function compile(root: Node): Inst[] {
  const prog: Inst[] = [];
  // A split's second branch is only known once its body is emitted: it skips to the end.
  const patch = (pc: number): void => {
    const inst = prog[pc];
    if (inst?.op === 'split') inst.b = prog.length;
  };
  const emit = (inst: Inst): number => {
    if (prog.length >= MAX_PROGRAM_SIZE) throw new RegexError('pattern is too complex');
    prog.push(inst);
    return prog.length - 1;
  };
  const gen = (n: Node): void => {
    if (n.t === 'char') emit({ op: 'char', test: n.test, next: prog.length + 1 });
    else if (n.t === 'seq') n.items.forEach(gen);
    else if (n.t === 'alt') {
      const jumps: number[] = [];
      for (const opt of n.options.slice(0, -1)) {
        const split = emit({ op: 'split', a: prog.length + 1, b: -1 });
        gen(opt);
        jumps.push(emit({ op: 'jmp', to: -1 }));
        patch(split);
      }
      gen(n.options[n.options.length - 1]!);
      for (const j of jumps) prog[j] = { op: 'jmp', to: prog.length };
    } else {
      for (let k = 0; k < n.min; k++) gen(n.node);
      if (n.max === Infinity) {
        const loop = emit({ op: 'split', a: prog.length + 1, b: -1 });
        gen(n.node);
        emit({ op: 'jmp', to: loop });
        patch(loop);
      } else {
        const splits: number[] = [];
        for (let k = n.min; k < n.max; k++) {
          splits.push(emit({ op: 'split', a: prog.length + 1, b: -1 }));
          gen(n.node);
        }
        splits.forEach(patch);
      }
    }
  };
  gen(root);
  emit({ op: 'match' });
  return prog;
}

function simulate(prog: Inst[], input: string): { matched: boolean; steps: number } {
  let steps = 0;
  const seen = new Int32Array(prog.length).fill(-1);
  // Follows split instructions; `seen` per position makes empty loops like (a*)* terminate.
  const add = (list: number[], pc: number, gen: number): void => {
    steps++;
    if (seen[pc] === gen) return;
    seen[pc] = gen;
    const inst = prog[pc]!;
    if (inst.op === 'split') {
      add(list, inst.a, gen);
      add(list, inst.b, gen);
    } else if (inst.op === 'jmp') add(list, inst.to, gen);
    else list.push(pc);
  };
  let current: number[] = [];
  add(current, 0, 0);
  const text = input.toLowerCase();
  for (let pos = 0; pos < text.length && current.length > 0; pos++) {
    const next: number[] = [];
    for (const pc of current) {
      steps++;
      const inst = prog[pc]!;
      if (inst.op === 'char' && inst.test(text[pos]!)) add(next, inst.next, pos + 1);
    }
    current = next;
  }
  return { matched: current.some((pc) => prog[pc]!.op === 'match'), steps };
}

/** Compiles `source` (the text between the slashes) or returns why it is refused. */
export function compileSafeRegex(source: string): SafeRegex | { error: string } {
  if (source.length === 0) return { error: 'empty regular expression' };
  if (source.length > MAX_REGEX_LENGTH) return { error: `regular expression longer than ${MAX_REGEX_LENGTH} characters` };
  let body = source.startsWith('^') ? source.slice(1) : source;
  // A final `$` is an anchor unless escaped, i.e. preceded by an odd run of backslashes.
  if (/(^|[^\\])(\\\\)*\$$/.test(body)) body = body.slice(0, -1);
  let prog: Inst[];
  try {
    prog = compile(parse(body));
  } catch (err) {
    if (err instanceof RegexError || err instanceof RangeError) return { error: `invalid regular expression: ${err.message}` };
    throw err;
  }
  return {
    size: prog.length,
    run: (input) => simulate(prog, input),
    test: (input) => simulate(prog, input).matched,
  };
}
