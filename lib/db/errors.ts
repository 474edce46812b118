/**
 * Prisma's errors that callers act on, named, so no code outside lib/db needs Prisma's error classes.
 * Recognised by name and code rather than instanceof: the process's one client (lib/process.ts) may
 * have been made by another module copy than the caller's (server.ts and Next's route bundle), and
 * instanceof then fails.
 */

function isKnownRequestError(err: unknown, code: string): boolean {
  return err instanceof Error && err.name === "PrismaClientKnownRequestError" && (err as { code?: unknown }).code === code;
}

/** A write that broke a unique key: someone else stored the same row first. */
export function isUniqueViolation(err: unknown): boolean {
  return isKnownRequestError(err, "P2002");
}

/** The row an update or delete wrote, or null when there was no such row. */
export async function nullWhenMissing<T>(write: Promise<T>): Promise<T | null> {
  try {
    return await write;
  } catch (err) {
    if (isKnownRequestError(err, "P2025")) return null;
    throw err;
  }
}
