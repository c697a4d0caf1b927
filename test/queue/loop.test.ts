import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { createQueueLoop, type QueueLoopOptions } from '../../src/queue/loop.js';

function recordingLog(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (msg) => void errors.push(msg) };
}

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const base = (log: Logger, pass: QueueLoopOptions['pass'], recover = async () => {}): QueueLoopOptions => ({ name: 'test', log, pass, recover, stopWaitMs: 5000 });

describe('queue loop (shared by the webhook and outbound queues)', () => {
  it('recovers before the first pass; a pass that throws or whose claim fails is logged, and the loop goes on', async () => {
    const log = recordingLog();
    const calls: string[] = [];
    let n = 0;
    const loop = createQueueLoop(
      base(
        log,
        async () => {
          calls.push('pass');
          n++;
          if (n === 2) throw new Error('database is locked');
          if (n === 3) return { launched: Promise.reject(new Error('claim failed')), wakeIn: 1000 };
          return { launched: Promise.resolve([]), wakeIn: 1000 };
        },
        async () => void calls.push('recover'),
      ),
    );
    loop.start();
    await loop.runOnce();
    await loop.runOnce();
    await loop.runOnce();
    expect(calls).toEqual(['recover', 'pass', 'pass', 'pass', 'pass']);
    expect(log.errors).toEqual(['test pass failed', 'test pass failed']);
    await loop.stop();
  });

  it('runOnce and stop wait for attempts launched by an earlier pass; kicks after stop run nothing', async () => {
    const log = recordingLog();
    const attempt = deferred();
    const claim = deferred();
    let passes = 0;
    const loop = createQueueLoop(
      base(log, async () => {
        passes++;
        // The first pass's claim commits later and launches one long attempt.
        if (passes === 1) return { launched: claim.promise.then(() => [attempt.promise]), wakeIn: 1000 };
        return { launched: Promise.resolve([]), wakeIn: 1000 };
      }),
    );
    loop.start();
    let ranOnce = false;
    const once = loop.runOnce().then(() => (ranOnce = true));
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    claim.resolve();
    await new Promise((r) => setTimeout(r, 50));
    expect([ranOnce, stopped]).toEqual([false, false]);
    attempt.resolve();
    await Promise.all([once, stopping]);
    loop.kick();
    await new Promise((r) => setTimeout(r, 20));
    expect(passes).toBe(2);
  });

  it('a burst of 50 kicks while a pass is under way makes one more pass, not 50', async () => {
    const log = recordingLog();
    const gate = deferred();
    let passes = 0;
    const loop = createQueueLoop(
      base(log, async () => {
        passes++;
        if (passes === 1) await gate.promise;
        return { launched: Promise.resolve([]), wakeIn: 60_000 };
      }),
    );
    loop.start();
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 50; i++) {
      loop.kick();
      await new Promise((r) => setImmediate(r));
    }
    gate.resolve();
    await new Promise((r) => setTimeout(r, 50));
    expect(passes).toBe(2);
    await loop.stop();
  });
});
