/**
 * `node --import tsx bench/lib/alloc-summary.ts <file.heapprofile> [top]`: bytes allocated by
 * function and by package or file, as shares of everything sampled (alloc-sampling.mjs).
 */
import { readFileSync } from 'node:fs';

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: alloc-summary.ts <file.heapprofile> [top]');
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: Node };
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
const stack: Node[] = [profile.head];
while (stack.length) {
  const n = stack.pop()!;
  const url = n.callFrame.url.replace(/^.*node_modules\//, 'npm:').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/');
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + n.selfSize);
  const pkg = url.replace(/^(npm:(@[^/]+\/)?[^/]+).*/, '$1') || '(native)';
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + n.selfSize);
  total += n.selfSize;
  stack.push(...n.children);
}
const show = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, bytes]) => `${((100 * bytes) / total).toFixed(1).padStart(5)}% ${name}`)
    .join('\n');
console.log(`${file}: ${(total / 1e6).toFixed(0)} MB allocated (sampled)\n\nby function:\n${show(byFunction)}\n\nby package/file:\n${show(byFile)}`);
