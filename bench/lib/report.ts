import { appendFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** One line of the results table: scenario, Mailhook figure, baseline figure, ratio, target, met/not. */
export interface Row {
  scenario: string;
  mailhook: string;
  baseline: string;
  ratio: string;
  target: string;
  met: 'met' | 'NOT MET' | '—';
}

export const COLUMNS = ['scenario', 'Mailhook', 'baseline', 'ratio', 'target', 'met'] as const;

export function table(rows: Row[]): string {
  const cells = rows.map((r) => [r.scenario, r.mailhook, r.baseline, r.ratio, r.target, r.met]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: readonly string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(COLUMNS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Prints the rows, and appends them as JSON lines to $BENCH_RESULTS when `npm run bench` collects them. */
export function report(title: string, rows: Row[], notes: string[] = []): void {
  console.log(`\n## ${title}\n`);
  console.log(table(rows));
  for (const n of notes) console.log(`  ${n}`);
  const file = process.env.BENCH_RESULTS;
  if (file) for (const r of rows) appendFileSync(file, JSON.stringify(r) + '\n');
  if (file && notes.length) appendFileSync(file, JSON.stringify({ note: `${title}: ${notes.join(' ')}` }) + '\n');
}

export const machine = () => `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, ${process.platform}`;

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
export const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : '—');

/** The q-quantile (0..1) of `values` (nearest rank). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export const envInt = (name: string, def: number) => {
  const v = process.env[name];
  return v && /^\d+$/.test(v) ? Number(v) : def;
};

/** Runs `fn` and turns a thrown error into a row saying so, so one broken scenario never hides the others. */
export async function guarded(title: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(err);
    report(title, [{ scenario: `${title}: failed`, mailhook: String((err as Error).message).slice(0, 60), baseline: '—', ratio: '—', target: '—', met: 'NOT MET' }]);
    process.exitCode = 1;
  }
}

const t0 = Date.now();
/** A progress line on stderr, so a long run shows where it is. */
export function progress(msg: string): void {
  console.error(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
}
