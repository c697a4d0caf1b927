import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A young-generation collection after every COLLECT_EVERY_BYTES that this isolate streams of one
 * big message (the spool file written, the parse thread's read of it, the attachment chunks the
 * main thread stores). A streamed chunk is dead once passed on, but its memory is outside the V8
 * heap: while the isolate allocates few objects, no scavenge comes to free it, and dead chunks pile
 * up to V8's external-memory trigger (~64 MB) in each isolate (bench/README.md, 2026-12-07:
 * 40 MB attachment, built, limited heap, peak growth ~117 → ~95 MB). A scavenge of a young
 * generation that small costs well under a millisecond; seven of them per 55 MB message.
 * `gc` is reached as Node's own tests do: the flag set at run time, the function taken from a new context.
 */
export const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

let gc: ((o: { type: 'minor' }) => void) | null | undefined;
function load(): typeof gc {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as typeof gc;
  } catch {
    gc = null;
  }
  return gc;
}

/** Counts bytes streamed; collects after every `everyBytes`. */
export function collector(everyBytes = COLLECT_EVERY_BYTES): (n: number) => void {
  let since = 0;
  return (n) => {
    since += n;
    if (since < everyBytes) return;
    since = 0;
    load()?.({ type: 'minor' });
  };
}
