/** Page cursors: opaque base64url of the sort key of the last row served. */

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

/** The sort key in a cursor, or null when it is not one of ours. */
export function decodeCursor(cursor: string): unknown[] | null {
  try {
    const parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    return Array.isArray(parts) ? parts : null;
  } catch {
    return null;
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A (timestamp, uuid) sort key, the usual one, or null. */
export function timeAndIdCursor(cursor: string): { at: string; id: string } | null {
  const [at, id, ...rest] = decodeCursor(cursor) ?? [];
  if (rest.length > 0 || typeof at !== "string" || typeof id !== "string" || !UUID.test(id) || Number.isNaN(Date.parse(at))) return null;
  return { at, id };
}
