import type { SweepRecord } from '../ops-state.js';
import { row, type PgDb } from './db.js';

const LAST_SWEEP = 'last_sweep';

export function opsStateTable(db: PgDb) {
  const lastSweep = async (): Promise<SweepRecord | null> => {
    const r = await row<{ value: string }>(db, 'SELECT value FROM ops_state WHERE name = $1', [LAST_SWEEP]);
    return r ? (JSON.parse(r.value) as SweepRecord) : null;
  };
  return {
    lastSweep,
    async recordSweep(r: Omit<SweepRecord, 'lastSuccessAt'>): Promise<SweepRecord> {
      const record: SweepRecord = { ...r, lastSuccessAt: r.ok ? r.finishedAt : ((await lastSweep())?.lastSuccessAt ?? null) };
      await db.query(
        `INSERT INTO ops_state (name, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [LAST_SWEEP, JSON.stringify(record), r.finishedAt],
      );
      return record;
    },
  };
}
