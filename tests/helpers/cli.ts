/** `npx loopdesk …` as a real process, the way staff run it. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with `env` over the test's own environment; a non-zero exit is a result to assert on, not a throw. */
export async function loopdeskCli(env: Record<string, string>, args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/loopdesk.js", ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024, // a training run's log
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as CliResult;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
