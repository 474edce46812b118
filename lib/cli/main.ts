/**
 * The Loopdesk CLI. The ML console calls the same library functions; this file only parses
 * arguments and prints. Errors are one clear line and a non-zero exit, never a stack trace.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { Writable } from "node:stream";
import { Command, InvalidArgumentError, Option } from "commander";
import { z } from "zod";
import { SingleBar, Presets } from "cli-progress";
import { config } from "../config";
import { audit } from "../db/audit";
import { deploymentHistory, listModelVersions, lmVersionMetrics, productionDeployment, versionMetrics, type ModelKind } from "../db/ml";
import { seedDatabase } from "../db/seed";
import { exportSnapshot } from "../dataset/export";
import { exportLmSnapshot } from "../dataset/lm-export";
import { formatFromFilename, importDataset } from "../dataset/import";
import { registerTrainedLm, runTraining, trainParamsSchema, type Device } from "../training/run";
import { promote, rollback } from "../training/promote";
import { shadowView, startShadow, stopShadow } from "../training/shadow";
import type { GateVerdict } from "../training/gate";
import { isLmEval, MODEL_KINDS, type LmGateVerdict, type ShadowStats } from "../protocol/ml";
import { createStaffUser, STAFF_ROLES, type StaffRole } from "../auth/session";
import { purgeCustomerData, type PurgeScope } from "../db/retention";
import { removePurgedCopies } from "../dataset/purge-copies";
import { writeCustomerData } from "../dataset/customer-export";

const actor = () => process.env.LOOPDESK_ACTOR ?? `${os.userInfo().username}@cli`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("not an integer");
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
};

const kindOption = () => new Option("--kind <kind>", "classifier or lm (the language model)").choices(MODEL_KINDS).default("classifier");
const fixed = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? "-" : x.toFixed(digits));

const program = new Command("loopdesk").description("Loopdesk: datasets, training runs and model versions").showHelpAfterError();

const dataset = program.command("dataset").description("training data: labelled utterances for the intent classifier, approved answers for the language model");
dataset
  .command("import")
  .argument("<file>", "CSV (text,label) or JSONL of labelled utterances")
  .description("validate and import labelled utterances; nothing is imported if anything is wrong")
  .action(async (file: string) => {
    await seedDatabase();
    const report = await importDataset({ content: await readFile(file), format: formatFromFilename(file), actor: actor(), filename: path.basename(file) });
    const show = (list: { line: number; code: string; message: string }[], kind: string) => {
      for (const p of list.slice(0, 30)) console.log(`  ${kind} ${p.line ? `line ${p.line}` : "file"}: [${p.code}] ${p.message}`);
      if (list.length > 30) console.log(`  … and ${list.length - 30} more ${kind}s`);
    };
    show(report.warnings, "warning");
    if (report.errors.length > 0) {
      show(report.errors, "error");
      fail(`nothing imported: ${report.errors.length} error(s) in ${file}`);
    }
    console.log(`imported ${report.inserted} example(s) (import ${report.importId}); ${report.skippedExisting} already present, ${report.duplicates} duplicate(s) in the file`);
  });
dataset
  .command("export")
  .option("--out <file>", "where to write the snapshot (default: data/snapshots/[lm-]snapshot-<sha>.jsonl)")
  .addOption(kindOption())
  .option("--seed-only", "--kind lm: only the team's seed set (training/data/lm_seed.jsonl); needs no database")
  .description("write a snapshot of the training data with a deterministic train/holdout split, and its manifest")
  .action(async (opts: { out?: string; kind: "classifier" | "lm"; seedOnly?: boolean }) => {
    if (opts.seedOnly && opts.kind !== "lm") fail("--seed-only is for --kind lm");
    if (opts.kind === "lm") {
      if (!opts.seedOnly) await seedDatabase();
      const { path: file, manifestPath, manifest } = await exportLmSnapshot({ outPath: opts.out, dataDir: config().LOOPDESK_DATA_DIR, seedOnly: opts.seedOnly });
      console.log(`${file}\n${manifestPath}\n${manifest.rows} rows (${manifest.per_split.train} train, ${manifest.per_split.holdout} holdout), sha256 ${manifest.sha256}`);
      console.log(`origins: ${Object.entries(manifest.per_origin).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      for (const s of manifest.skipped) console.log(`skipped ${s.id}: ${s.reason}`);
      return;
    }
    await seedDatabase();
    const { path: file, manifestPath, manifest } = await exportSnapshot({ outPath: opts.out, dataDir: config().LOOPDESK_DATA_DIR });
    console.log(`${file}\n${manifestPath}\n${manifest.rows} rows, ${Object.keys(manifest.per_intent).length} intents, sha256 ${manifest.sha256}`);
    console.log(`sources: ${Object.entries(manifest.per_source).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  });

program
  .command("train")
  .description("fine-tune the classifier or the language model on a snapshot (default: a fresh export) and register a candidate version")
  .addOption(kindOption())
  .option("--snapshot <file>", "snapshot JSONL from `dataset export` (of the same kind)")
  .addOption(new Option("--device <device>", "where to train").choices(["auto", "cpu", "cuda"]).default("auto"))
  .option("--epochs <n>", "training epochs", int)
  .option("--batch-size <n>", "batch size", int)
  .option("--lr <x>", "peak learning rate", num)
  .option("--max-len <n>", "max tokens per example", int)
  .option("--seed <n>", "random seed", int)
  .option("--max-steps <n>", "lm: stop after this many optimiser steps", int)
  .action(async (opts: { kind: ModelKind; snapshot?: string; device: Device; epochs?: number; batchSize?: number; lr?: number; maxLen?: number; seed?: number; maxSteps?: number }) => {
    const { snapshot, device, kind, ...rest } = opts;
    if (kind === "classifier" && rest.maxSteps !== undefined) fail("--max-steps is for --kind lm");
    const params = trainParamsSchema.safeParse(rest);
    if (!params.success) fail(`invalid training parameters: ${params.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
    await seedDatabase();
    const bar = new SingleBar({ format: "training {bar} {percentage}% | epoch {epoch}/{epochs} | loss {loss} | ETA {eta_formatted}", hideCursor: true }, Presets.shades_classic);
    let started = false;
    const { run, model } = await runTraining({
      kind,
      snapshotPath: snapshot,
      device,
      params: params.data!,
      actor: actor(),
      onEvent: (e) => {
        if (e.type === "progress") {
          const p = e.progress;
          if (!started) bar.start(p.steps, 0, { epoch: p.epoch, epochs: p.epochs, loss: "-" });
          started = true;
          bar.update(p.step, { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(3) });
        } else if (e.type === "eval") {
          bar.stop();
          const v = e.eval;
          const label = v.epoch === 0 ? "base model" : `epoch ${v.epoch}`;
          if (isLmEval(v)) console.log(`${label}: held-out loss ${v.holdout_loss.toFixed(3)}, perplexity ${v.holdout_perplexity.toFixed(2)}`);
          else console.log(`${label}: holdout accuracy ${pct(v.holdout_accuracy)}, macro-F1 ${pct(v.holdout_macro_f1)}`);
          started = false;
        }
      },
    });
    bar.stop();
    if (!model) fail(`training run ${run.id} ${run.status}: ${run.error ?? ""}`);
    console.log(`run ${run.id} succeeded in ${((run.durationMs ?? 0) / 1000).toFixed(0)} s`);
    const lm = lmVersionMetrics(model);
    if (lm) console.log(`candidate ${model.version}: held-out perplexity ${fixed(lm.holdout_perplexity)} (base ${fixed(lm.base_holdout_perplexity)}) on ${lm.device}`);
    else {
      const m = versionMetrics(model);
      console.log(`candidate ${model.version}: holdout accuracy ${pct(m.accuracy)}, macro-F1 ${pct(m.macro_f1)} on ${m.device}`);
    }
    console.log(`promote with: npx loopdesk models promote ${model.version}${kind === "lm" ? " --kind lm" : ""}`);
  });

const models = program.command("models").description("model versions: classifiers and language models");
models
  .command("list")
  .addOption(kindOption())
  .description("every version of a kind, the one in production marked")
  .action(async (opts: { kind: ModelKind }) => {
    const current = await productionDeployment(opts.kind);
    const versions = (await listModelVersions(opts.kind)).reverse(); // oldest first
    for (const v of versions) {
      const mark = v.version === current?.version ? "* production" : v.status === "failed" ? "  failed" : "  candidate";
      let figures: string;
      if (opts.kind === "lm") {
        const m = lmVersionMetrics(v);
        figures = m ? `held-out perplexity ${fixed(m.holdout_perplexity)} (base ${fixed(m.base_holdout_perplexity)})` : "stock model";
      } else {
        const m = versionMetrics(v);
        figures = `acc ${pct(m.accuracy)}  macro-F1 ${pct(m.macro_f1)}`;
      }
      console.log(`${mark.padEnd(13)} ${v.version.padEnd(36)} ${figures}  ${v.createdAt.toISOString()}`);
    }
    const history = await deploymentHistory(5, opts.kind);
    if (history.length) console.log(`\nrecent deployments:\n${history.map((d) => `  ${d.createdAt.toISOString()} ${d.action} ${d.version} by ${d.actor}${d.forced ? " (forced)" : ""}`).join("\n")}`);
  });
models
  .command("promote")
  .argument("<version>", "a version, or `latest` for the newest trained candidate of the kind")
  .addOption(kindOption())
  .option("--force", "override the evaluation gate (recorded)")
  .option("--reason <text>", "why; required with --force")
  .addOption(new Option("--gate-questions <n>", "lm, tests only: ask only the first N benchmark questions").argParser(int).hideHelp())
  .addOption(new Option("--gate-holdout <n>", "lm, tests only: perplexity on only the first N held-out examples").argParser(int).hideHelp())
  .description("gate the candidate against production (classifier: frozen holdout; lm: the reply benchmark), then deploy to every running server")
  .action(async (version: string, opts: { kind: ModelKind; force?: boolean; reason?: string; gateQuestions?: number; gateHoldout?: number }) => {
    const { deployment, verdict, shadow } = await promote({
      version,
      kind: opts.kind,
      actor: actor(),
      force: opts.force,
      reason: opts.reason,
      questionLimit: opts.gateQuestions,
      holdoutLimit: opts.gateHoldout,
      onProgress: (message) => console.error(message),
    });
    if ("macroF1Delta" in verdict) printVerdict(verdict);
    else printLmVerdict(verdict);
    if (shadow) printShadowStats(shadow);
    console.log(`${deployment.version} promoted${shadow ? " from shadow (shadowing ended)" : ""}${deployment.forced ? " (gate overridden)" : ""}; running servers swap to it within seconds`);
  });
models
  .command("shadow")
  .argument("[version]", "a classifier candidate to classify every live message beside production")
  .option("--off", "stop shadowing")
  .description("put a classifier candidate in shadow on every running server (replies stay production's), stop it, or show its live figures")
  .action(async (version: string | undefined, opts: { off?: boolean }) => {
    if (version && opts.off) fail("give a version or --off, not both");
    if (opts.off) {
      const stopped = await stopShadow({ actor: actor() });
      console.log(`${stopped.version} is no longer in shadow; running servers stop within seconds`);
    } else if (version) {
      const started = await startShadow({ version, actor: actor() });
      console.log(`${started.version} is in shadow${started.replaced ? ` (instead of ${started.replaced})` : ""}; running servers classify every customer message with it too within seconds`);
    } else {
      const { shadow } = await shadowView();
      if (!shadow) return console.log("nothing is in shadow");
      console.log(`${shadow.version} in shadow since ${shadow.since} (by ${shadow.actor}), production ${shadow.production ?? "-"}`);
      printShadowStats(shadow.stats);
      console.log(`${shadow.queue.length} disagreement(s) waiting for a label in the ML console`);
    }
  });
models
  .command("register")
  .argument("<dir>", "a trainer's output folder (python -m training.train_lm --out DIR), e.g. trained on a GPU machine")
  .addOption(kindOption())
  .description("copy a fine-tuned language model into the model store and register it as a candidate")
  .action(async (dir: string, opts: { kind: ModelKind }) => {
    if (opts.kind !== "lm") fail("register takes language models (--kind lm): classifiers are registered by their training runs");
    const { model } = await registerTrainedLm(dir);
    await audit(actor(), "model.registered", model.version, { datasetSha256: model.datasetSha256 });
    console.log(`registered ${model.version} as a candidate; gate and promote it with: npx loopdesk models promote ${model.version} --kind lm`);
  });
models
  .command("rollback")
  .addOption(kindOption())
  .option("--reason <text>", "why")
  .description("deploy the version of the kind that was in production before the current one")
  .action(async (opts: { kind: ModelKind; reason?: string }) => {
    const d = await rollback({ kind: opts.kind, actor: actor(), reason: opts.reason });
    console.log(`rolled back to ${d.version}`);
  });

const staff = program.command("staff").description("staff accounts of the support console");
staff
  .command("create")
  .requiredOption("--email <email>", "login email")
  .option("--name <name>", "display name (default: the part of the email before @)")
  .addOption(new Option("--role <role>", "what they may do").choices(STAFF_ROLES).makeOptionMandatory())
  .description("create a staff account; the password comes from LOOPDESK_STAFF_PASSWORD or is prompted for")
  .action(async (opts: { email: string; name?: string; role: StaffRole }) => {
    const password = process.env.LOOPDESK_STAFF_PASSWORD ?? (await promptPassword());
    const user = await createStaffUser({ email: opts.email, name: opts.name ?? opts.email.split("@")[0] ?? opts.email, role: opts.role, password }, actor());
    console.log(`created ${user.role} ${user.email} (${user.id})`);
  });

const data = program.command("data").description("stored conversations: retention, access and deletion requests");
data
  .command("purge")
  .option("--older-than <days>", "delete conversations with no message for this many days", int)
  .option("--customer <customerId>", "delete everything of one customer (a deletion request)")
  .option("--dry-run", "only count what would be deleted")
  .description("delete conversations, their messages and the intent labels and language-model examples derived from them, and dataset snapshots holding those")
  .action(async (opts: { olderThan?: number; customer?: string; dryRun?: boolean }) => {
    if ((opts.olderThan === undefined) === (opts.customer === undefined)) fail("give exactly one of --older-than <days> or --customer <customerId>");
    if (opts.olderThan !== undefined && opts.olderThan < 1) fail("--older-than must be at least 1 day");
    if (opts.customer !== undefined && !z.string().uuid().safeParse(opts.customer).success) fail("--customer must be a customer id (a UUID)");
    const scope: PurgeScope = opts.customer ? { customerId: opts.customer } : { olderThanDays: opts.olderThan! };
    const dryRun = opts.dryRun ?? false;
    const snapshotsDir = path.join(config().LOOPDESK_DATA_DIR, "snapshots");
    const { counts, files } = await purgeCustomerData({
      scope,
      dryRun,
      actor: actor(),
      removeCopies: (data) => removePurgedCopies(data, { snapshotsDir, dryRun }),
    });
    const verb = dryRun ? "would delete" : "deleted";
    console.log(`${verb} ${counts.conversations} conversation(s), ${counts.messages} message(s), ${counts.labels} intent label(s), ${counts.customers} customer(s), ${counts.lmExamples} language-model example(s)`);
    for (const file of files) console.log(`${dryRun ? "would remove" : "removed"} purged data from ${file}`);
    if (dryRun) console.log("dry run: nothing was deleted");
  });
data
  .command("export")
  .requiredOption("--customer <customerId>", "the customer whose data to write")
  .requiredOption("--out <file>", "the JSON file to write (its folder must exist)")
  .description("write everything stored about one customer as JSON (an access request); audited")
  .action(async (opts: { customer: string; out: string }) => {
    const written = await writeCustomerData({ customerId: opts.customer, outPath: opts.out, actor: actor() });
    console.log(`wrote ${written.conversations} conversation(s), ${written.messages} message(s) of customer ${opts.customer} to ${written.path}`);
  });

/** Asks twice on the terminal without echoing what is typed. */
async function promptPassword(): Promise<string> {
  if (!process.stdin.isTTY) fail("no terminal to ask for the password on: set LOOPDESK_STAFF_PASSWORD");
  // readline echoes into this sink instead of the screen; the prompts go to stdout directly.
  const rl = createInterface({ input: process.stdin, output: new Writable({ write: (_chunk, _enc, done) => done() }), terminal: true });
  const ask = async (prompt: string) => {
    process.stdout.write(prompt);
    const answer = await rl.question("");
    process.stdout.write("\n");
    return answer;
  };
  const password = await ask("Password (at least 10 characters): ");
  const again = await ask("Same password again: ");
  rl.close();
  if (password !== again) fail("the passwords do not match");
  return password;
}

function printVerdict(v: GateVerdict) {
  console.log(`holdout: ${v.holdoutSize} examples`);
  console.log(`  accuracy  ${pct(v.production.accuracy)} → ${pct(v.candidate.accuracy)}`);
  console.log(`  macro-F1  ${pct(v.production.macroF1)} → ${pct(v.candidate.macroF1)}`);
  for (const r of v.perIntent.filter((p) => p.regression)) console.log(`  regression ${r.intent}: ${pct(r.production)} → ${pct(r.candidate)}`);
  console.log(`gate: ${v.pass ? "pass" : "fail"}`);
}

function printShadowStats(s: ShadowStats) {
  console.log(`shadow: ${s.messages} live message(s), agreement with production ${s.agreement === null ? "-" : pct(s.agreement)}`);
  for (const i of s.disagreeing) console.log(`  ${i.intent}: ${i.disagreements} of ${i.messages} disagree (${pct(i.rate)}), shadow says ${i.shadowSays ?? "-"}`);
  const l = s.labelled;
  console.log(`  labelled disagreements: ${l.disagreements} (shadow right ${l.shadowRight}, production right ${l.productionRight})`);
}

function printLmVerdict(v: LmGateVerdict) {
  const row = (name: string, f: (s: LmGateVerdict["candidate"]) => string) => console.log(`  ${name.padEnd(16)} ${f(v.production)} → ${f(v.candidate)}`);
  console.log(`reply benchmark: ${v.questions} questions (sha256 ${v.questionsSha256.slice(0, 12)}); held-out perplexity on ${v.holdoutExamples} examples`);
  console.log(`  ${"".padEnd(16)} ${v.production.version} → ${v.candidate.version}`);
  row("pass", (s) => pct(s.bench.pass));
  row("facts", (s) => pct(s.bench.facts));
  row("contradictions", (s) => String(s.bench.contradictions));
  row("invented", (s) => String(s.bench.invented));
  row("repetitive", (s) => String(s.bench.repetitive));
  row("cut off", (s) => String(s.bench.cutOff));
  row("abstained", (s) => String(s.bench.abstained));
  row("perplexity", (s) => fixed(s.holdoutPerplexity));
  for (const r of v.reasons) console.log(`  refused: ${r}`);
  console.log(`gate: ${v.pass ? "pass" : "fail"}`);
}

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

try {
  await program.parseAsync(process.argv);
  process.exit(0);
} catch (err) {
  if (process.env.DEBUG) console.error(err);
  fail(err instanceof Error ? err.message : String(err));
}
