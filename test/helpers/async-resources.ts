import { createHook } from 'node:async_hooks';

/** The types of the async resources (`Immediate`, `SIGNREQUEST`, …) created while `fn` runs. */
export async function asyncResourceTypes(fn: () => Promise<unknown>): Promise<string[]> {
  const types: string[] = [];
  const hook = createHook({
    init(_id, type) {
      types.push(type);
    },
  }).enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return types;
}
