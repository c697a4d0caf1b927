import { describe, expect, it } from 'vitest';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../../src/auth/passwords.js';

describe('passwords', () => {
  it('hashes with scrypt and a per-user salt', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horse', b)).toBe(true);
    expect(await verifyPassword('Correct horse', a)).toBe(false);
  });

  it('treats canonically equivalent Unicode spellings as the same password', async () => {
    const h = await hashPassword('caf\u00e9 au lait');
    expect(await verifyPassword('cafe\u0301 au lait', h)).toBe(true);
  });

  it('never matches a malformed or absurd stored hash', async () => {
    for (const stored of ['', 'plain', 'scrypt$x$8$1$c2FsdA==$aGFzaA==', 'bcrypt$1$2$3$4$5', 'scrypt$16384$8$1$c2FsdA==$', 'scrypt$999999999$8$1$c2FsdA==$aGFzaA==']) {
      expect(await verifyPassword('anything', stored)).toBe(false);
    }
  });

  it('the dummy check for unknown accounts is never true', async () => {
    expect(await burnPasswordCheck('dummy password, never matches')).toBe(false);
  });
});
