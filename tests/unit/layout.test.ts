/**
 * The layout's rules, checked on the source files: lib/db is the one door to PostgreSQL (nothing else
 * touches Prisma or the raw clients) and the ground floor of lib (it imports no other part of lib
 * but the shared leaves), and the process singletons live only in lib/process.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Product code: the library, the Next app, the process entry points and the ops scripts (tests and bench may inspect the database directly). */
const PRODUCT = ["lib", "app", "scripts", "bin", "server.ts", "worker.ts", "proxy.ts"];

function sourceFiles(entry: string): string[] {
  const full = path.join(ROOT, entry);
  if (/\.(ts|tsx|js|mjs)$/.test(entry)) return [entry];
  return readdirSync(full, { withFileTypes: true }).flatMap((d) => {
    const child = path.join(entry, d.name);
    if (d.isDirectory()) return child === path.join("lib", "generated") ? [] : sourceFiles(child);
    return /\.(ts|tsx|js|mjs)$/.test(d.name) ? [child] : [];
  });
}

/** `file:line: text` for every line of `files` matching `pattern`. */
function offending(files: string[], pattern: RegExp): string[] {
  return files.flatMap((file) =>
    readFileSync(path.join(ROOT, file), "utf8")
      .split("\n")
      .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
}

const inLibDb = (file: string) => file.startsWith(`lib${path.sep}db${path.sep}`);

/** What lib/db may import besides its own files and packages: the generated client and the leaves every layer shares. */
const LIB_DB_MAY_IMPORT = /^\.\.\/(generated\/|log$|config$|process$|text$|sentences$|http$|protocol\/)/;

describe("layout", () => {
  const product = PRODUCT.flatMap(sourceFiles);

  it("finds the source files", () => {
    expect(product).toContain(path.join("lib", "db", "client.ts"));
    expect(product).toContain(path.join("lib", "chat", "turn.ts"));
    expect(product.length).toBeGreaterThan(100);
  });

  it("touches Prisma and the database clients only in lib/db", () => {
    const pattern = /@prisma\/client|generated\/prisma|\bdb\(\)|embeddedDatabase\(/;
    expect(offending(product.filter((f) => !inLibDb(f)), pattern)).toEqual([]);
  });

  it("keeps lib/db the ground floor: it imports no other part of lib but the shared leaves", () => {
    const imports = offending(product.filter(inLibDb), /from "\.\.\//).filter((hit) => {
      const target = /from "([^"]+)"/.exec(hit)![1]!;
      return !LIB_DB_MAY_IMPORT.test(target);
    });
    expect(imports).toEqual([]);
  });

  it("keeps the process singletons in lib/process.ts", () => {
    const files = product.filter((f) => f !== path.join("lib", "process.ts"));
    expect(offending(files, /\bglobalThis\b/)).toEqual([]);
  });
});
