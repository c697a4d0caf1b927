import { describe, expect, it } from 'vitest';
import type { Send } from '../../src/db/sends.js';
import { createSendHandoff } from '../../src/send/handoff.js';

const entry = (id: string, bytes = 10) => ({ send: { id } as Send, raw: Buffer.alloc(bytes) });

describe('send hand-off (submitSend → outbound worker)', () => {
  it('an entry is taken once per destination, then gone (the next attempt reads the rows)', () => {
    const h = createSendHandoff();
    h.put(entry('snd_a'), 2);
    expect(h.take('snd_a')?.send.id).toBe('snd_a');
    expect(h.take('snd_a')?.send.id).toBe('snd_a');
    expect(h.take('snd_a')).toBeNull();
    expect(h.take('snd_unknown')).toBeNull();
  });

  it('bounded by entries and by bytes, the oldest dropped first; a send larger than the bound is not kept', () => {
    const h = createSendHandoff(2, 100);
    h.put(entry('snd_1'), 1);
    h.put(entry('snd_2'), 1);
    h.put(entry('snd_3'), 1);
    expect(h.take('snd_1')).toBeNull();
    expect(h.take('snd_2')).not.toBeNull();
    h.put(entry('snd_4', 60), 1);
    h.put(entry('snd_5', 60), 1);
    expect(h.take('snd_3')).toBeNull();
    expect(h.take('snd_4')).toBeNull();
    expect(h.take('snd_5')).not.toBeNull();
    h.put(entry('snd_big', 101), 1);
    expect(h.take('snd_big')).toBeNull();
  });
});
