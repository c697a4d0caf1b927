import { describe, expect, it } from 'vitest';
import { compileRouteRegex, dfaStatesHeld, MAX_DFA_STATES, MAX_PROGRAM_SIZE, MAX_REGEX_LENGTH, type RouteRegex } from '../../src/route/regex.js';

function compiled(source: string): RouteRegex {
  const re = compileRouteRegex(source);
  if ('error' in re) throw new Error(`${source}: ${re.error}`);
  return re;
}

describe('compileRouteRegex agrees with RegExp (anchored, case-insensitive) on short inputs', () => {
  const patterns = [
    'abc', 'a|b|cd', 'a*', 'a+b', 'ab?c', 'a{2}', 'a{2,}', 'a{1,3}b', '(ab)+', '(?:a|bc)*d', '.*x.*',
    '[a-c]+', '[^a-c]+', '[A-Z]+\\d', '\\w+@\\w+\\.com', '\\s\\S', '[\\w.-]+', 'a.c', '(a|)+b', '(a*)*',
    'x+?y', '\\.\\*\\+', '[-a]', '[a-]', 'sales-[0-9]{2,4}@ex\\.com', '(a|b)(c|d)?e*', '\\bab\\b', '\\x41b',
  ];
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

  it('cannot be unanchored by closing the wrapping group early', () => {
    expect(compileRouteRegex('a)|(b')).toMatchObject({ error: expect.stringMatching(/invalid regular expression/) });
    expect(compileRouteRegex('\\Qa)|(b')).toMatchObject({ error: expect.stringMatching(/invalid regular expression/) });
  });
});

describe('the syntax users try that the hand-written engine refused (issue 11)', () => {
  it.each([
    ['\\bbilling\\b.*@example\\.com', ['billing@example.com', 'billing.eu@example.com'], ['billings@example.com']],
    ['\\p{L}+@example\\.com', ['frösche@example.com', 'ДМИТРИЙ@example.com'], ['a1@example.com']],
    ['(?P<team>sales|support)@example\\.com', ['SALES@example.com'], ['ops@example.com']],
    ['[[:alpha:]]+-\\d+@example\\.com', ['order-12@example.com'], ['-12@example.com']],
    ['\\Qa.b\\E@example\\.com', ['a.b@example.com'], ['axb@example.com']],
    ['x\\x2by@example\\.com', ['x+y@example.com'], ['xy@example.com']],
  ])('/%s/', (source, yes, no) => {
    const re = compiled(source);
    for (const s of yes) expect([s, re.test(s)]).toEqual([s, true]);
    for (const s of no) expect([s, re.test(s)]).toEqual([s, false]);
  });
});

describe('compileRouteRegex refuses what it cannot run in linear time, or too much of it', () => {
  it.each([
    ['(?=a)a', /lookarounds are not supported/],
    ['(?!a)a', /lookarounds are not supported/],
    ['(?<!a)b', /lookarounds are not supported/],
    ['(?<=a)b', /lookarounds are not supported/],
    ['(a)\\1', /backreferences are not supported/],
    ['(?<n>a)\\k<n>', /backreferences are not supported/],
    ['a**', /invalid nested repetition operator/],
    ['a{2}{3}', /invalid nested repetition operator/],
    ['*a', /missing argument to repetition operator/],
    ['(a', /missing closing \)/],
    ['a)', /unexpected \)/],
    ['[a', /missing closing \]/],
    ['[z-a]', /invalid character class range/],
    ['a{3,2}', /invalid repeat count/],
    ['(a{30}){40}', /invalid repeat count/],
    ['(a?){200}a{200}', /too complex \(1004 instructions/],
    ['(?:.?a?){300}', /too complex/],
    ['a'.repeat(MAX_REGEX_LENGTH + 1), /longer than/],
    ['', /empty/],
  ])('%s', (source, why) => {
    const re = compileRouteRegex(source);
    expect('error' in re && re.error).toMatch(why);
  });

  it('a backslash-escaped \\1 is a plain backslash and 1, not a backreference', () => {
    expect(compiled('a\\\\1').test('a\\1')).toBe(true);
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
    ['(x+x+)+y', 'x'.repeat(2000)],
  ];
  it.each(cases)('%s on %#', (source, input) => {
    const re = compiled(source);
    const native = new RegExp(`^(?:${source})$`, 'i');
    const started = performance.now();
    expect(re.test(input)).toBe(false);
    // Generous against a loaded machine: backtracking takes seconds to years on these.
    expect(performance.now() - started).toBeLessThan(250);
    expect(native.source).toBeTruthy();
  });

  it('still matches the inputs these patterns are meant for', () => {
    expect(compiled('(a+)+$').test('a'.repeat(300))).toBe(true);
    expect(compiled('(a|a)*b').test('a'.repeat(300) + 'b')).toBe(true);
  });

  it(`finishes worst cases at the size cap (${MAX_PROGRAM_SIZE}) on a 2 KiB input quickly`, () => {
    // Patterns whose DFA outgrows RE2's cache, so it falls back to (length x size) steps.
    for (const source of ['(?:.?a?){240}z', '(?:.{0,15}a){16}z', '(.*(.{10}|a{10}|b.*){6}){4}z', '(a?){190}a{190}']) {
      const re = compiled(source);
      expect(re.size).toBeLessThanOrEqual(MAX_PROGRAM_SIZE);
      for (const input of ['a'.repeat(2048), 'ab'.repeat(1024), 'a'.repeat(2047) + 'z']) {
        const started = performance.now();
        re.test(input);
        // Generous bound for a loaded machine; the cap is what makes it finite.
        expect(performance.now() - started).toBeLessThan(1500);
      }
    }
  });
});

describe("RE2's DFA caches stay bounded across patterns", () => {
  it(`40 patterns built to grow their DFA, fed 2 KiB values: at most ${MAX_DFA_STATES} states held in all, same answers`, () => {
    const bodies = ['(?:.{0,15}a){16}z', '(.*(.{10}|a{10}|b.*){6}){4}z', '(?:.?a?){240}z'];
    const patterns = Array.from({ length: 40 }, (_, k) => compiled(`${bodies[k % 3]}${k}`));
    const inputs = Array.from({ length: 12 }, (_, i) => Array.from({ length: 2048 }, (_, j) => 'ab z'[(i * 31 + j * j * 7) % 4]).join(''));
    const answers = patterns.map((re) => inputs.map((s) => re.test(s)));
    const total = patterns.reduce((n, re) => n + re.dfaStates(), 0);
    // Unbounded, these held ~30,000 states (~70 MB of heap).
    expect(total).toBeLessThanOrEqual(MAX_DFA_STATES);
    expect(dfaStatesHeld()).toBeLessThanOrEqual(MAX_DFA_STATES);
    expect(patterns.map((re) => inputs.map((s) => re.test(s)))).toEqual(answers);
  });
});
