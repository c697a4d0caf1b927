import { afterEach, describe, expect, it } from 'vitest';
import { startSweeper, SWEEPER_LEASE } from '../../src/store/sweeper.js';
import { testDeps, type TestDeps } from '../helpers/deps.js';

// DESIGN §10: singletons hold a lease row, so of several nodes exactly one sweeps at a time.
let d: TestDeps | undefined;
afterEach(() => d?.cleanup());

describe('the retention sweeper holds the sweeper lease', () => {
  it('does not sweep while another node holds the lease, and takes over once it is free', { timeout: 30_000 }, async () => {
    d = testDeps();
    expect(await d.repos.leases.acquire(SWEEPER_LEASE, 'node-b', Date.now(), 60_000)).toBe(true);
    const sweeper = startSweeper(d, 50);
    try {
      await new Promise((r) => setTimeout(r, 400)); // several intervals
      expect(await d.repos.opsState.lastSweep()).toBeNull();
      expect(await d.repos.leases.holder(SWEEPER_LEASE, Date.now())).toBe('node-b');
      await d.repos.leases.release(SWEEPER_LEASE, 'node-b'); // node B stopped cleanly
      await expect.poll(() => d!.repos.opsState.lastSweep(), { timeout: 10_000 }).toMatchObject({ ok: true });
      expect(await d.repos.leases.holder(SWEEPER_LEASE, Date.now())).not.toBe('node-b');
    } finally {
      sweeper.stop();
    }
  });
});
