/** Prisma's errors that callers act on, named, so no code outside lib/db needs Prisma's error classes. */
import { Prisma } from "../generated/prisma/client";

/** A write that broke a unique key: someone else stored the same row first. */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";
}

/** The row an update or delete wrote, or null when there was no such row. */
export async function nullWhenMissing<T>(write: Promise<T>): Promise<T | null> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2025") return null;
    throw err;
  }
}
