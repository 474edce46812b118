/** Shared by the bad-input and fuzz suites: what must never leak, and how to tell nothing was stored. */
import type pg from "pg";

/** Text that must never reach a client: stack frames, file paths, the ORM, SQL. */
export const INTERNALS = /\n\s+at |\bat \S+ \(|\/(work|home|tmp|usr)\/|node_modules|\.tsx?:\d|Prisma|prisma\.|SQLSTATE|duplicate key|violates|relation "|syntax error at/;

/** Row counts of every application table. */
export async function tableCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) counts[name] = (await pool.query(`SELECT count(*)::int AS n FROM "${name}"`)).rows[0].n;
  return counts;
}
