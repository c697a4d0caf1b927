import { Readable } from 'node:stream';
import { collector } from './collect.js';

/** One consumer of a tee'd stream; `drop()` says it wants no more (the others go on without it). */
export interface Branch {
  stream: Readable;
  drop(): void;
}

/**
 * `source` read once for `n` consumers: every chunk is pushed to each branch still wanted, and the
 * source pauses while any of them is full, so the slowest consumer sets the pace and nothing piles
 * up (at most a chunk or two per branch). A branch dropped before its end (a consumer that has its
 * answer, or gave up) no longer holds the others back; once all are dropped the source is closed.
 * The same chunk objects go to every branch: consumers must not change them.
 */
export function tee(source: Readable, n: number): Branch[] {
  const live = new Set<number>();
  const full = new Set<number>();
  const streams: Readable[] = [];
  const resume = () => {
    if (full.size === 0 && live.size > 0) source.resume();
  };
  for (let i = 0; i < n; i++) {
    live.add(i);
    streams.push(
      new Readable({
        highWaterMark: 64 * 1024,
        read() {
          full.delete(i);
          resume();
        },
      }),
    );
  }
  const collect = collector();
  source.on('data', (chunk: Buffer) => {
    collect(chunk.length);
    for (const i of live) if (!streams[i]!.push(chunk)) full.add(i);
    if (full.size > 0) source.pause();
  });
  source.on('end', () => {
    for (const i of live) streams[i]!.push(null);
  });
  source.on('error', (err) => {
    for (const i of live) streams[i]!.destroy(err);
  });
  return streams.map((stream, i) => ({
    stream,
    drop() {
      if (!live.delete(i)) return;
      full.delete(i);
      if (!stream.readableEnded) stream.destroy();
      if (live.size === 0) source.destroy();
      else resume();
    },
  }));
}
