/**
 * Runs `pass` one call at a time: the queue workers' passes read the queue and then update
 * in-memory slots, which must not interleave now that the reads await. A call while a pass runs
 * shares the one pass queued after it (many kicks in a row still make one more pass).
 */
export function onePassAtATime<T>(pass: () => Promise<T>): () => Promise<T> {
  let current: Promise<T> | null = null;
  let next: Promise<T> | null = null;
  const start = (): Promise<T> => {
    const p: Promise<T> = pass().finally(() => {
      if (current === p) current = null;
    });
    current = p;
    return p;
  };
  return () => {
    if (!current) return start();
    next ??= current
      .catch(() => undefined)
      .then(() => {
        next = null;
        return start();
      });
    return next;
  };
}
