#!/usr/bin/env node
// `npx loopdesk …`: the train-and-serve loop from the command line (lib/cli/main.ts, run through tsx).
import { register } from "tsx/esm/api";

register();
await import("../lib/cli/main.ts");
