import { describe, expect, it } from 'vitest';
import { normaliseEmail } from '../../src/auth/email.js';

describe('normaliseEmail', () => {
  it.each([
    ['  Alice@Example.COM ', 'alice@example.com'],
    ['a.b+tag@sub.example.org', 'a.b+tag@sub.example.org'],
    ['user@Bücher.example', 'user@xn--bcher-kva.example'],
  ])('%j → %j', (input, out) => expect(normaliseEmail(input)).toBe(out));

  it.each(['', 'plain', '@example.com', 'a@', 'a@localhost', 'a b@example.com', 'a@exa mple.com', 'a@-x.com', `${'x'.repeat(65)}@example.com`, `a@${'x'.repeat(250)}.com`, 'a<b>@example.com'])(
    'refuses %j',
    (input) => expect(normaliseEmail(input)).toBeNull(),
  );
});
