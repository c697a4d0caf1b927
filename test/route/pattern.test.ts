import { describe, expect, it } from 'vitest';
import {
  matchFilterValue,
  matchRecipient,
  normalizeAddress,
  validateFilterValue,
  validatePattern,
} from '../../src/route/pattern.js';

describe('matchRecipient', () => {
  it.each<[string, string, boolean]>([
    // exact
    ['support@example.com', 'support@example.com', true],
    ['support@example.com', 'Support@EXAMPLE.com', true],
    ['SUPPORT@Example.COM', 'support@example.com', true],
    ['support@example.com', '<support@example.com>', true],
    ['support@example.com', 'support@example.com.', true], // trailing-dot FQDN in the envelope
    ['support@example.com.', 'support@example.com', true],
    ['support@example.com', 'supportx@example.com', false],
    ['support@example.com', 'support@example.org', false],
    ['support@example.com', 'support@sub.example.com', false],
    // *@domain
    ['*@example.com', 'anyone@example.com', true],
    ['*@example.com', 'A.B+c@Example.Com', true],
    ['*@example.com', 'anyone@example.com.evil.test', false],
    ['*@example.com', 'anyone@sub.example.com', false],
    ['*@example.com', 'anyone@notexample.com', false],
    ['*@example.com', '"john doe"@example.com', true],
    // local+*@domain: the +tag is optional
    ['orders+*@example.com', 'orders+123@example.com', true],
    ['orders+*@example.com', 'ORDERS+Abc@example.com', true],
    ['orders+*@example.com', 'orders@example.com', true],
    ['orders+*@example.com', 'orders+@example.com', true],
    ['orders+*@example.com', 'ordersx@example.com', false],
    ['orders+*@example.com', 'xorders+1@example.com', false],
    ['orders+*@example.com', 'orders-1@example.com', false],
    // other globs in the local part
    ['*-support@example.com', 'eu-support@example.com', true],
    ['*-support@example.com', 'support@example.com', false],
    ['a*b@example.com', 'ab@example.com', true],
    // regex: anchored, case-insensitive
    ['/sales-\\d+@example\\.com/', 'sales-42@example.com', true],
    ['/sales-\\d+@example\\.com/', 'SALES-42@EXAMPLE.COM', true],
    ['/sales-\\d+@example\\.com/', 'x-sales-42@example.com', false],
    ['/sales-\\d+@example\\.com/', 'sales-42@example.com.evil.test', false],
    ['/sales-\\d+@example\\.com/i', 'sales-7@example.com', true],
    ['/^(billing|invoices)@example\\.com$/', 'Invoices@example.com', true],
    // IDN: the domain is compared in punycode, whatever case or script the address uses
    ['info@bücher.de', 'info@xn--bcher-kva.de', true],
    ['info@xn--bcher-kva.de', 'INFO@BÜCHER.DE', true],
    ['*@XN--BCHER-KVA.de', 'x@Bücher.de.', true],
    ['/info@xn--bcher-kva\\.de/', 'info@bücher.de', true],
    // quoted local parts: redundant quotes are equivalent (RFC 5322 §3.2.4); needed ones are kept
    ['john@example.com', '"john"@example.com', true],
    ['"john doe"@example.com', '"John Doe"@example.com', true],
    ['"john doe"@example.com', 'johndoe@example.com', false],
    // % and ! have no routing meaning: literal characters
    ['a%b@example.com', 'a%b@example.com', true],
    ['a%b@example.com', 'a@example.com', false],
    ['a!b@example.com', 'a!b@example.com', true],
    ['*@example.com', 'user%other.test@example.com', true],
    ['user@example.com', 'user%example.com@example.com', false],
    ['/a%b!c@example\\.com/', 'a%b!c@example.com', true],
    // dots are not folded (that is Gmail's private rule)
    ['john.smith@example.com', 'johnsmith@example.com', false],
  ])('%s vs %s → %s', (pattern, address, expected) => {
    expect(matchRecipient(pattern, address)).toBe(expected);
  });

  it('matches nothing longer than an address can be (RFC 5321: 320 octets)', () => {
    const long = `${'a'.repeat(64)}@${'b'.repeat(252)}.com`;
    expect(long.length).toBeGreaterThan(320);
    expect(matchRecipient('/.*/', long)).toBe(false);
    expect(matchRecipient('*@' + 'b'.repeat(252) + '.com', long)).toBe(false);
  });

  it('never matches with an invalid pattern, and never throws', () => {
    expect(matchRecipient('/(?=x)/', 'x@example.com')).toBe(false);
    expect(matchRecipient('', 'x@example.com')).toBe(false);
    expect(matchRecipient('no-at-sign', 'no-at-sign')).toBe(false);
  });

  it('answers a catastrophic regex on a 300-character address at once', () => {
    const started = performance.now();
    expect(matchRecipient('/(a+)+$/', 'a'.repeat(300) + '@example.com')).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('validatePattern', () => {
  it.each<[string, string, RegExp | null]>([
    ['support@example.com', 'example.com', null],
    ['*@example.com', 'example.com', null],
    ['orders+*@example.com', 'example.com', null],
    ['Support@EXAMPLE.com.', 'example.com', null],
    ['info@bücher.de', 'xn--bcher-kva.de', null],
    ['/.*@example\\.com/', 'example.com', null],
    ['support@other.com', 'example.com', /must be for example\.com, not other\.com/],
    ['*@sub.example.com', 'example.com', /must be for example\.com/],
    ['*@*.example.com', 'example.com', /only allowed in the local part/],
    ['*@*', 'example.com', /only allowed in the local part/],
    ['a@example.com, b@example.com', 'example.com', /single address/],
    ['<a@example.com>', 'example.com', /single address/],
    ['example.com', 'example.com', /must be an address/],
    ['@example.com', 'example.com', /must be an address/],
    ['', 'example.com', /empty/],
    ['/(a)\\1/', 'example.com', /backreferences/],
    ['/' + 'a'.repeat(250) + '/', 'example.com', /longer than/],
  ])('%s for %s', (pattern, domain, error) => {
    const result = validatePattern(pattern, domain);
    if (error === null) expect(result).toBeNull();
    else expect(result).toMatch(error);
  });
});

describe('filter values', () => {
  it.each<[string, string, boolean]>([
    // a plain from is an exact address, or the sender's exact domain: never a substring
    ['billing@stripe.com', 'billing@stripe.com', true],
    ['billing@stripe.com', 'Billing@Stripe.COM', true],
    ['billing@stripe.com', 'xbilling@stripe.com', false],
    ['billing@stripe.com', 'billing@stripe.com.evil.test', false],
    ['stripe.com', 'billing@stripe.com', true],
    ['Stripe.com', 'anyone@STRIPE.com', true],
    ['stripe.com', 'a@notstripe.com', false],
    ['stripe.com', 'a@stripe.com.evil.test', false],
    ['stripe.com', 'a@eu.stripe.com', false],
    ['*@*.stripe.com', 'a@eu.stripe.com', true],
    ['*@stripe.com', 'a@stripe.com', true],
    ['/(billing|receipts)@stripe\\.com/', 'receipts@stripe.com', true],
  ])('from %s vs %s → %s', (pattern, address, expected) => {
    expect(matchFilterValue(pattern, address, 'from')).toBe(expected);
  });

  it.each<[string, string, boolean]>([
    // a plain text filter is a case-insensitive substring
    ['invoice', 'Your Invoice #42', true],
    ['INVOICE', 'your invoice', true],
    ['invoice', 'Your receipt', false],
    ['re: ', 'Re: hello', true],
    // globs and regexes match the whole value
    ['Invoice *', 'Invoice #42', true],
    ['Invoice *', 'Your Invoice #42', false],
    ['*invoice*', 'Your Invoice #42', true],
    ['/invoice #\\d+/', 'Invoice #42', true],
    ['/invoice/', 'Your invoice', false],
    ['/.*invoice.*/', 'Your invoice', true],
    ['*', '', true],
  ])('text %s vs %s → %s', (pattern, value, expected) => {
    expect(matchFilterValue(pattern, value, 'text')).toBe(expected);
  });

  it('refuses an over-long from outright rather than matching a truncated one', () => {
    const crafted = 'a'.repeat(309) + '@stripe.com' + '.evil.test';
    expect(matchFilterValue('*@stripe.com', crafted, 'from')).toBe(false);
  });

  it('matches long text values on their first 2048 characters, in bounded time', () => {
    const subject = 'invoice ' + 'a'.repeat(100_000);
    expect(matchFilterValue('invoice*', subject, 'text')).toBe(true);
    expect(matchFilterValue('a', subject, 'text')).toBe(true);
    const started = performance.now();
    expect(matchFilterValue('/(a|a)*b/', 'a'.repeat(100_000), 'text')).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('validates', () => {
    expect(validateFilterValue('invoice', 'text')).toBeNull();
    expect(validateFilterValue('   ', 'text')).toMatch(/empty/);
    expect(validateFilterValue('/(?!x)/', 'text')).toMatch(/lookaround/);
    expect(validateFilterValue('x'.repeat(201), 'from')).toMatch(/longer than/);
  });
});

describe('normalizeAddress', () => {
  it.each([
    ['User@Example.COM', 'user@example.com'],
    ['<user@example.com.>', 'user@example.com'],
    ['"user"@example.com', 'user@example.com'],
    ['"a b"@example.com', '"a b"@example.com'],
    ['"a..b"@example.com', '"a..b"@example.com'],
    ['"a@b"@example.com', '"a@b"@example.com'],
    ['x@Bücher.de', 'x@xn--bcher-kva.de'],
    ['x@[192.0.2.1]', 'x@[192.0.2.1]'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected);
  });
});
