/**
 * Whether `err` is a UNIQUE (or primary key) constraint refusing a duplicate, on either engine:
 * callers turn it into a 409 whichever database runs (SQLite: SQLITE_CONSTRAINT_UNIQUE;
 * PostgreSQL: SQLSTATE 23505 unique_violation).
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
