/**
 * PGlite takes no lock of its own, and two processes on one folder corrupt it (electric-sql/pglite
 * #1106). As PostgreSQL does with postmaster.pid, the process that opens the embedded database writes
 * its pid to `<dir>.pid` (created exclusively) and removes it on exit; any other process is refused
 * while that pid is alive. A lock left by a killed process is taken over at once.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Takes the lock of the embedded database in `dir` (…/pglite); returns its release. */
export function lockEmbeddedDatabase(dir: string): () => void {
  mkdirSync(path.dirname(dir), { recursive: true });
  const file = `${dir}.pid`;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      const release = () => {
        process.off("exit", release);
        rmSync(file, { force: true });
      };
      process.on("exit", release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number.parseInt(readFileSync(file, "utf8"), 10);
    if (holder > 0 && isAlive(holder)) {
      throw new Error(
        `the embedded database in ${path.dirname(dir)} is in use by process ${holder} (a running server?): stop it first, ` +
          `or set DATABASE_URL to use PostgreSQL, which any number of processes can share (if no such process runs, delete ${file})`,
      );
    }
    rmSync(file, { force: true }); // left by a process that is gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
