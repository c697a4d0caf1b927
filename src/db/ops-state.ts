import type { Db } from './open.js';

/** What the last retention sweep did; kept in ops_state so a restart does not forget it. */
export interface SweepRecord {
  startedAt: number;
  finishedAt: number;
  ok: boolean;
  error: string | null;
  attachmentsPurged: number;
  messagesDeleted: number;
  /** finishedAt of the last sweep that ended without error; null if none has. */
  lastSuccessAt: number | null;
}

const LAST_SWEEP = 'last_sweep';

export function opsStateTable(db: Db) {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM ops_state WHERE name = ?');
  const put = db.prepare<[string, string, number]>(
    `INSERT INTO ops_state (name, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  const lastSweep = (): SweepRecord | null => {
    const row = get.get(LAST_SWEEP);
    return row ? (JSON.parse(row.value) as SweepRecord) : null;
  };
  return {
    lastSweep,
    /** Records a sweep; a failed one keeps the previous lastSuccessAt. */
    recordSweep(r: Omit<SweepRecord, 'lastSuccessAt'>): SweepRecord {
      const record: SweepRecord = { ...r, lastSuccessAt: r.ok ? r.finishedAt : (lastSweep()?.lastSuccessAt ?? null) };
      put.run(LAST_SWEEP, JSON.stringify(record), r.finishedAt);
      return record;
    },
  };
}
