import { describe, expect, it } from 'vitest';
import { compileSafeRegex, MAX_REGEX_LENGTH, type SafeRegex } from '../../src/route/safe-regex.js';

function compiled(source: string): SafeRegex {
  const re = compileSafeRegex(source);
  if ('error' in re) throw new Error(`${source}: ${re.error}`);
  return re;
}

describe('compileSafeRegex agrees with RegExp (anchored, case-insensitive) on short inputs', () => {
  const patterns = [
    'abc', 'a|b|cd', 'a*', 'a+b', 'ab?c', 'a{2}', 'a{2,}', 'a{1,3}b', '(ab)+', '(?:a|bc)*d', '.*x.*',
    '[a-c]+', '[^a-c]+', '[A-Z]+\\d', '\\w+@\\w+\\.com', '\\s\\S', '[\\w.-]+', 'a.c', '(a|)+b', '(a*)*',
    'x+?y', '\\.\\*\\+', '[-a]', '[a-]', 'sales-[0-9]{2,4}@ex\\.com', '(a|b)(c|d)?e*', '',
  ].filter(Boolean);
  const inputs = ['', 'a', 'b', 'ab', 'abc', 'ABC', 'aab', 'aaaab', 'abab', 'd', 'ad', 'bcbcd', 'axb', 'x',
    'xy', 'xxxy', 'AB1', 'foo@bar.com', 'a c', ' x', 'a.b-c', 'a\nc', '.*+', '-', 'sales-123@ex.com',
    'sales-1@ex.com', 'ace', 'bdee', 'abc!'];
  for (const p of patterns) {
    it(`/${p}/`, () => {
      const ours = compiled(p);
      const native = new RegExp(`^(?:${p})$`, 'i');
      for (const s of inputs) expect([s, ours.test(s)]).toEqual([s, native.test(s)]);
    });
  }

  it('treats a leading ^ and trailing $ as the anchors they already are, and \\$ as a dollar', () => {
    expect(compiled('^abc$').test('abc')).toBe(true);
    expect(compiled('^abc$').test('xabc')).toBe(false);
    expect(compiled('a\\$').test('a$')).toBe(true);
    expect(compiled('a\\\\$').test('a\\')).toBe(true);
  });
});

describe('compileSafeRegex refuses what it cannot run in linear time or does not support', () => {
  it.each([
    ['(?=a)a', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /lookarounds and named groups/],
    ['\\bword', /word boundaries/],
    ['a**', /nested quantifier/],
    ['a{2}{3}', /nested quantifier/],
    ['*a', /nothing to repeat/],
    ['(a', /missing \)/],
    ['a)', /unbalanced/],
    ['[a', /unterminated/],
    ['[z-a]', /out of order/],
    ['a{3,2}', /m < n/],
    ['a{', /malformed/],
    ['a^b', /only allowed at the start or end/],
    ['\\x41', /unsupported escape/],
    ['(a{30}){40}', /too complex/],
    ['a'.repeat(MAX_REGEX_LENGTH + 1), /longer than/],
    ['', /empty/],
  ])('%s', (source, why) => {
    const re = compileSafeRegex(source);
    expect('error' in re && re.error).toMatch(why);
  });
});

describe('ReDoS: catastrophic patterns stay linear', () => {
  // Each of these takes V8's backtracking engine seconds to forever on such inputs.
  const cases: [string, string][] = [
    ['(a+)+$', 'a'.repeat(300) + '!'],
    ['(a|a)*b', 'a'.repeat(300)],
    ['(a*)*b', 'a'.repeat(300)],
    ['a*a*a*a*a*a*a*a*b', 'a'.repeat(300)],
    ['(.*a){20}', 'a'.repeat(300) + 'b'],
    ['(\\w+\\s?)+$', 'word '.repeat(60) + '!'],
  ];
  it.each(cases)('%s on %#', (source, input) => {
    const re = compiled(source);
    const { matched, steps } = re.run(input);
    expect(matched).toBe(false);
    // Every instruction is visited at most once per split edge per position: 3 × size × (n + 1).
    expect(steps).toBeLessThanOrEqual(3 * re.size * (input.length + 1));
  });

  it('still matches the inputs these patterns are meant for', () => {
    expect(compiled('(a+)+$').test('a'.repeat(300))).toBe(true);
    expect(compiled('(a|a)*b').test('a'.repeat(300) + 'b')).toBe(true);
  });

  it('finishes a worst-case pattern at the size cap on a long input quickly', () => {
    // The textbook a?ⁿaⁿ blow-up, sized to fill the program cap.
    const re = compiled('(a?){300}a{300}');
    const started = performance.now();
    const { matched, steps } = re.run('a'.repeat(320));
    expect(matched).toBe(true);
    expect(steps).toBeLessThanOrEqual(3 * re.size * 321);
    // Generous bound: the counted check above is the real proof; this only catches a regression to backtracking.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
