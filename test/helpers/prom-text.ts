/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line must be a HELP,
 * a TYPE or a sample of a declared family, label values properly quoted, values numbers,
 * histogram buckets cumulative with +Inf equal to _count. Throws on the first violation.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  types: Map<string, string>;
  samples: Sample[];
  /** The one sample of `name` whose labels include all of `labels`; 0 when there is none. */
  value(name: string, labels?: Record<string, string>): number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`line ${line}: bad labels {${text}}`);
    if (m[1]! in labels) throw new Error(`line ${line}: duplicate label ${m[1]}`);
    labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : null;
    if (base && ['histogram', 'summary'].includes(types.get(base) ?? '')) return base;
  }
  return undefined;
}

export function parsePromText(text: string): Scrape {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text
    .slice(0, -1)
    .split('\n')
    .forEach((raw, i) => {
      const n = i + 1;
      if (raw === '') return;
      const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(raw);
      if (help) return;
      const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(raw);
      if (type) {
        if (types.has(type[1]!)) throw new Error(`line ${n}: second TYPE for ${type[1]}`);
        types.set(type[1]!, type[2]!);
        return;
      }
      if (raw.startsWith('#')) throw new Error(`line ${n}: unknown comment ${raw}`);
      const m = SAMPLE.exec(raw);
      if (!m) throw new Error(`line ${n}: not a sample: ${raw}`);
      if (!familyOf(m[1]!, types)) throw new Error(`line ${n}: ${m[1]} has no TYPE before it`);
      // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
      const value = /^\+?inf$/i.test(m[3]!) ? Infinity : /^-inf$/i.test(m[3]!) ? -Infinity : Number(m[3]);
      if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+|inf|nan)$/i.test(m[3]!)) {
        throw new Error(`line ${n}: bad value ${m[3]}`);
      }
      samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? '', n), value });
    });
  const matches = (s: Sample, name: string, labels: Record<string, string>) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  // Histograms: per label set, buckets cumulative and +Inf == _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family} ${key}: buckets not cumulative`);
      }
      const inf = buckets.find((b) => b.labels.le === '+Inf');
      const count = samples.find((s) => matches(s, `${family}_count`, JSON.parse(key) as Record<string, string>));
      if (!inf || !count || inf.value !== count.value) throw new Error(`${family} ${key}: +Inf bucket differs from _count`);
    }
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const found = samples.filter((s) => matches(s, name, labels));
      if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples match`);
      return found[0]?.value ?? 0;
    },
  };
}
