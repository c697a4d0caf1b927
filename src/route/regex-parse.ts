/**
 * Parser for the route regex subset (see safe-regex.ts for what is supported and why).
 * Produces a tree of character tests; every construct without a linear-time algorithm
 * (backreferences, lookarounds) is refused here with a message fit for the API's 400.
 */

export type Test = (c: string) => boolean;
export type Node =
  | { t: 'char'; test: Test }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number };

export class RegexError extends Error {}

const LINE_TERMINATORS = '\n\r\u2028\u2029';
const isDigit: Test = (c) => c >= '0' && c <= '9';
const isWord: Test = (c) => /^[A-Za-z0-9_]$/.test(c);
const isSpace: Test = (c) => /^\s$/.test(c);
const not = (f: Test): Test => (c) => !f(c);
// The input is lower-cased before matching; a class such as [A-Z] must still accept it.
const caseless = (f: Test): Test => (c) => f(c) || f(c.toUpperCase());

export function parse(src: string): Node {
  let i = 0;
  const peek = () => src[i];
  const fail = (why: string) => new RegexError(`${why} at position ${i}`);

  function escape(inClass: boolean): Test | string {
    const c = src[i++];
    if (c === undefined) throw fail('trailing backslash');
    switch (c) {
      case 'd': return isDigit;
      case 'D': return not(isDigit);
      case 'w': return isWord;
      case 'W': return not(isWord);
      case 's': return isSpace;
      case 'S': return not(isSpace);
      case 't': return '\t';
      case 'n': return '\n';
      case 'r': return '\r';
    }
    if (/[1-9]/.test(c) || c === 'k') throw fail('backreferences are not supported');
    if (c === 'b' || c === 'B') throw fail(inClass ? 'unsupported escape \\b' : 'word boundaries are not supported');
    if (/[A-Za-z0-9]/.test(c)) throw fail(`unsupported escape \\${c}`);
    return c;
  }

  function charClass(): Test {
    const negate = peek() === '^';
    if (negate) i++;
    const parts: Test[] = [];
    while (peek() !== ']') {
      if (i >= src.length) throw fail('unterminated character class');
      const lo = src[i++] === '\\' ? escape(true) : src[i - 1]!;
      if (typeof lo === 'string' && peek() === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
        i++;
        const hi = src[i++] === '\\' ? escape(true) : src[i - 1]!;
        if (typeof hi !== 'string') throw fail('a range cannot end in a class escape');
        if (hi < lo) throw fail(`range out of order ${lo}-${hi}`);
        parts.push((c) => c >= lo && c <= hi);
      } else {
        parts.push(typeof lo === 'string' ? (c) => c === lo : lo);
      }
    }
    i++;
    const any = caseless((c) => parts.some((p) => p(c)));
    return negate ? not(any) : any;
  }

  function atom(): Node {
    const c = src[i++]!;
    if (c === '(') {
      if (src.startsWith('?:', i)) i += 2;
      else if (peek() === '?') throw fail('lookarounds and named groups are not supported');
      const inner = alt();
      if (src[i++] !== ')') throw fail('missing )');
      return inner;
    }
    if (c === '[') return { t: 'char', test: charClass() };
    if (c === '.') return { t: 'char', test: (ch) => !LINE_TERMINATORS.includes(ch) };
    if (c === '\\') {
      const e = escape(false);
      return { t: 'char', test: typeof e === 'string' ? literal(e) : caseless(e) };
    }
    if ('*+?{'.includes(c)) throw fail(`nothing to repeat before ${c}`);
    if (c === ')' || c === ']' || c === '}') throw fail(`unbalanced ${c}`);
    if (c === '^' || c === '$') throw fail(`${c} is only allowed at the start or end`);
    return { t: 'char', test: literal(c) };
  }

  function quantified(node: Node): Node {
    let min: number, max: number;
    const q = peek();
    if (q === '*') [min, max] = [0, Infinity];
    else if (q === '+') [min, max] = [1, Infinity];
    else if (q === '?') [min, max] = [0, 1];
    else if (q === '{') {
      const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(src.slice(i));
      if (!m) throw fail('malformed {n,m} quantifier (write \\{ for a literal brace)');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) throw fail('quantifier {n,m} with m < n');
      i += m[0].length - 1;
    } else return node;
    i++;
    if (peek() === '?') i++;
    const after = peek();
    if (after !== undefined && '*+?{'.includes(after)) throw fail('nested quantifier');
    return { t: 'rep', node, min, max };
  }

  function seq(): Node {
    const items: Node[] = [];
    while (i < src.length && peek() !== '|' && peek() !== ')') items.push(quantified(atom()));
    return { t: 'seq', items };
  }

  function alt(): Node {
    const options = [seq()];
    while (peek() === '|') {
      i++;
      options.push(seq());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  const tree = alt();
  if (i < src.length) throw fail(`unbalanced ${src[i]}`);
  return tree;
}

function literal(ch: string): Test {
  const lower = ch.toLowerCase();
  return (c) => c === lower;
}

