/** Finding a test's own child processes by their place in the process tree, never by a name alone. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** The pid of a process under `rootPid` (at any depth) whose command line matches `args`. */
export async function descendantPid(rootPid: number, args: RegExp): Promise<number | undefined> {
  const { stdout } = await exec("ps", ["-eo", "pid=,ppid=,args="]);
  const processes = stdout.trim().split("\n").map((line) => {
    const [pid, ppid, ...rest] = line.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), args: rest.join(" ") };
  });
  const descendants = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of processes) {
      if (descendants.has(p.ppid) && !descendants.has(p.pid)) {
        descendants.add(p.pid);
        grew = true;
      }
    }
  }
  return processes.find((p) => p.pid !== rootPid && descendants.has(p.pid) && args.test(p.args))?.pid;
}
