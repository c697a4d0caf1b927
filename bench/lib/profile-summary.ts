/**
 * Summarises a .cpuprofile (node --cpu-prof): self time by function and by file, so a bench
 * run's profile can be read without DevTools. Usage: node --import tsx bench/lib/profile-summary.ts <file> [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'npm:').replace(/.*\/(src|bench|test)\//, '$1/');
const group = (key: (n: Node) => string) => {
  const m = new Map<string, number>();
  for (const [id, t] of self) {
    const k = key(byId.get(id)!);
    m.set(k, (m.get(k) ?? 0) + t);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg));
};
// Inclusive ("total") time of our own functions: each sample counts once for every distinct
// src/ function on its stack.
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
p.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    const u = short(n.callFrame.url);
    if (!u.startsWith('src/')) continue;
    seen.add(`${n.callFrame.functionName || '(anonymous)'} ${u}:${n.callFrame.lineNumber + 1}`);
  }
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + (p.timeDeltas[i] ?? 0));
});

const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nself time by function:');
for (const [k, t] of group((n) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`)) console.log(pct(t), k);
console.log('\nself time by package/file:');
for (const [k, t] of group((n) => {
  const u = short(n.callFrame.url);
  if (u.startsWith('npm:')) return u.split('/').slice(0, u.startsWith('npm:@') ? 2 : 1).join('/');
  return u || `(${n.callFrame.functionName})`;
})) console.log(pct(t), k);

console.log('\ninclusive time of src/ functions:');
for (const [k, t] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) console.log(pct(t), k);
