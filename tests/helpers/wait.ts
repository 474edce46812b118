/**
 * Polls `probe` until it returns a truthy value, which it returns; after `timeoutMs` it fails naming
 * `what` (and `detail()`, e.g. a server's recent output). A probe that throws counts as "not yet" when
 * `tolerateErrors` is set: a server busy loading a model may drop a health check's connection.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  opts: { intervalMs?: number; tolerateErrors?: boolean; detail?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = opts.tolerateErrors ? await Promise.resolve().then(probe).catch(() => undefined) : await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${opts.detail ? `\n${opts.detail()}` : ""}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
