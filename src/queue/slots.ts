/**
 * Concurrency accounting for a queue worker: a global pool and a cap per destination, so a slow
 * destination never takes every slot (DESIGN §6 for webhooks, §9 for mail).
 */
export function createSlots(global: number, perDestination: number) {
  const perDest = new Map<string, number>();
  let busy = 0;
  const at = (dest: string) => perDest.get(dest) ?? 0;
  return {
    inflightAt: at,
    get busy() {
      return busy;
    },
    free(dest: string): boolean {
      return busy < global && at(dest) < perDestination;
    },
    hold(dest: string): void {
      perDest.set(dest, at(dest) + 1);
      busy++;
    },
    release(dest: string): void {
      const left = at(dest) - 1;
      if (left > 0) perDest.set(dest, left);
      else perDest.delete(dest);
      busy--;
    },
  };
}
