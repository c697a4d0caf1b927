/** 'dist' or 'src': which tree `name` (e.g. 'main', 'cli') runs from (bin/entry.js). */
export function chooseTree(name: string, root?: string): 'dist' | 'src';
export function run(name: string): Promise<void>;
