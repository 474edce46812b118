/**
 * The process's singletons. server.ts and Next's compiled route handlers are separate module copies
 * in one process, so a module-level `let` would exist twice; each singleton lives once on globalThis,
 * under one of these keys, and is made on first use. Each key has one owning module, which gives its type.
 */
type SharedKey =
  | "__loopdeskPrisma" // lib/db/client.ts
  | "__loopdeskPGlite" // lib/db/client.ts
  | "__loopdeskListeners" // lib/db/listen.ts
  | "__loopdeskModels" // lib/models/registry.ts
  | "__loopdeskShadow" // lib/models/shadow.ts
  | "__loopdeskIo" // lib/chat/broadcast.ts
  | "__loopdeskBoss" // lib/training/queue.ts
  | "__loopdeskGenerationQueue" // lib/chat/generation-queue.ts
  | "__loopdeskMetrics"; // lib/metrics.ts

const slots = globalThis as unknown as Partial<Record<SharedKey, unknown>>;

/** The process's one `key`, made by `make` the first time it is asked for. */
export function shared<T>(key: SharedKey, make: () => T): T {
  return (slots[key] ??= make()) as T;
}
