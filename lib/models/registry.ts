/**
 * The models this process serves with, and their hot-swap. Loaded once at start; a deployment
 * (LISTEN/NOTIFY) makes every server load the new classifier or language model, smoke-test it and swap
 * the reference atomically. A turn holds the model object it started with, so chats in flight finish on
 * it; a replaced language model's session is released once the last reply holding it is done.
 * The knowledge index (the help centre's sentences, embedded by the encoder) is rebuilt the same way
 * whenever staff save an article.
 * One per process (lib/process.ts): server.ts and Next's route handlers are separate module copies.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { config } from "../config";
import { listen } from "../db/listen";
import { KNOWLEDGE_CHANNEL, liveArticles } from "../db/knowledge";
import { DEPLOYMENT_CHANNEL, findModelVersion, markModelFailed, productionDeployment, recordDeployment, registerModelVersion } from "../db/ml";
import { buildIndex, type KnowledgeIndex } from "../knowledge/retrieve";
import { trainerMetricsSchema } from "../protocol/ml";
import { log } from "../log";
import { listenerState, metrics } from "../metrics";
import { shared } from "../process";
import { loadClassifier, type Classifier } from "./classifier";
import { loadEncoder, type Encoder } from "./encoder";
import { STOCK_LM_DIR, type LanguageModel } from "./lm";
import { loadLanguageModel } from "./lm-process";
import { deployShadow, shadowStatus } from "./shadow";
import { modelStorePath } from "./store";

/** A language model this process serves or served, with the replies still holding it. */
interface ServedLm {
  lm: LanguageModel;
  holders: number;
  /** Replaced by another version: released once `holders` is 0. */
  retired: boolean;
}

interface Registry {
  lm?: ServedLm;
  classifier?: Classifier;
  encoder?: Encoder;
  knowledge?: KnowledgeIndex;
  /** Re-indexing runs one at a time; a save during one is picked up by the next. */
  reindexing?: Promise<void>;
  loading?: Promise<void>;
  /** Swaps run one after another, in the order deployments arrive (one chain per kind). */
  swaps: Promise<void>;
  lmSwaps: Promise<void>;
  /** LM versions this process could not load or smoke-test: not retried on every deployment NOTIFY. */
  refusedLms: Set<string>;
}

const registry = shared<Registry>("__loopdeskModels", () => ({ swaps: Promise.resolve(), lmSwaps: Promise.resolve(), refusedLms: new Set() }));

/** How often each server checks the deployments table, in case a NOTIFY was missed. */
const RECONCILE_MS = 30_000;

/** The classifier shipped by `npm run models:build`, deployed when nothing else ever was. */
export const SEED_CLASSIFIER_DIR = "classifier/seed";

export function loadModels(): Promise<void> {
  registry.loading ??= (async () => {
    const started = performance.now();
    const [encoder] = await Promise.all([loadEncoder(config().LOOPDESK_MODELS_DIR), deployProductionLm(), deployProductionClassifier(), deployShadow().catch(() => {})]);
    registry.encoder = encoder;
    await reindexKnowledge();
    // One channel for both kinds and the shadow: each swap chain checks whether what it serves changed.
    await listen(DEPLOYMENT_CHANNEL, deployProduction, listenerState(DEPLOYMENT_CHANNEL));
    // A NOTIFY missed while the listener was down (or never sent) is caught up within this period.
    setInterval(deployProduction, RECONCILE_MS).unref();
    await listen(KNOWLEDGE_CHANNEL, () => void reindexKnowledge(), listenerState(KNOWLEDGE_CHANNEL));
    log.info(
      { lm: registry.lm?.lm.version, classifier: registry.classifier?.version, facts: registry.knowledge?.facts.length, ms: Math.round(performance.now() - started) },
      "models loaded",
    );
  })();
  return registry.loading;
}

/** Brings both kinds and the shadow classifier up to date with the database; each swap chain logs its own failures. */
function deployProduction(): void {
  deployProductionClassifier().catch(() => {});
  deployProductionLm().catch(() => {});
  deployShadow().catch(() => {});
}

/**
 * Makes this process serve the version that is in production now; a failed load keeps the old one.
 * A failure (the database down, say) is logged and never breaks the chain for later swaps.
 */
function deployProductionClassifier(): Promise<void> {
  const swap = registry.swaps.then(async () => {
    const deployment = (await productionDeployment()) ?? (await bootstrapSeedClassifier());
    const current = registry.classifier;
    if (current?.version === deployment.version) return;
    const model = deployment.model ?? (await findModelVersion(deployment.version));
    if (!model) return;
    try {
      registry.classifier = await loadClassifier(modelStorePath(model.path), model.version);
      log.info({ from: current?.version, to: model.version }, "classifier swapped");
      metrics().modelSwaps.inc({ kind: "classifier" });
    } catch (err) {
      log.error({ err, version: model.version }, "classifier failed to load; keeping the current one");
      metrics().modelSwapFailures.inc({ kind: "classifier" });
      await markModelFailed(model.version, err instanceof Error ? err.message : String(err));
      if (!current) throw err;
    }
  });
  registry.swaps = swap.catch((err: unknown) => log.error({ err }, "could not bring the classifier up to date; retrying at the next deployment or check"));
  return swap;
}

/**
 * Makes this process serve the language model in production now: load, smoke-test (lib/models/lm.ts),
 * swap. A version that fails is refused here only (logged, counted; not marked failed for every server
 * from one server's trouble) and the current model keeps serving. At start, with nothing serving yet,
 * a production version that fails falls back to the stock model of the model store.
 */
function deployProductionLm(): Promise<void> {
  const swap = registry.lmSwaps.then(async () => {
    const deployment = (await productionDeployment("lm")) ?? (await bootstrapStockLm());
    const current = registry.lm;
    if (current?.lm.version === deployment.version || registry.refusedLms.has(deployment.version)) return;
    try {
      const lm = await loadLanguageModel(modelStorePath(deployment.model.path));
      if (lm.version !== deployment.version) {
        await lm.dispose();
        throw new Error(`the folder ${deployment.model.path} holds ${lm.version}, not ${deployment.version}`);
      }
      swapLanguageModel(lm);
      log.info({ from: current?.lm.version, to: lm.version }, "language model swapped");
      metrics().modelSwaps.inc({ kind: "lm" });
    } catch (err) {
      registry.refusedLms.add(deployment.version);
      log.error({ err, version: deployment.version }, "language model failed to load or smoke-test; keeping the current one");
      metrics().modelSwapFailures.inc({ kind: "lm" });
      if (current) return;
      swapLanguageModel(await loadLanguageModel(modelStorePath(STOCK_LM_DIR)));
      log.warn({ version: registry.lm!.lm.version }, "serving the stock language model instead");
    }
  });
  registry.lmSwaps = swap.catch((err: unknown) => log.error({ err }, "could not bring the language model up to date; retrying at the next deployment or check"));
  return swap;
}

function swapLanguageModel(lm: LanguageModel) {
  const old = registry.lm;
  registry.lm = { lm, holders: 0, retired: false };
  if (old) {
    old.retired = true;
    releaseIfUnused(old);
  }
}

function releaseIfUnused(served: ServedLm) {
  if (!served.retired || served.holders > 0) return;
  served.lm.dispose().catch((err: unknown) => log.warn({ err, version: served.lm.version }, "could not release a replaced language model"));
}

/** Rebuilds the knowledge index from the live articles; a failure keeps the current index. */
function reindexKnowledge(): Promise<void> {
  const previous = registry.reindexing ?? Promise.resolve();
  const next = previous.then(async () => {
    try {
      const articles = await liveArticles();
      registry.knowledge = await buildIndex(articles, registry.encoder!);
      log.info({ articles: articles.length, facts: registry.knowledge.facts.length }, "knowledge indexed");
      metrics().modelSwaps.inc({ kind: "knowledge" });
    } catch (err) {
      log.error({ err }, "could not re-index the knowledge base; keeping the current index");
      metrics().modelSwapFailures.inc({ kind: "knowledge" });
      if (!registry.knowledge) throw err;
    }
  });
  registry.reindexing = next.catch(() => {});
  return next;
}

/**
 * Re-indexes this server's knowledge now, for a save to await: its editor's next question is answered
 * from the new text. Other servers re-index when the save's NOTIFY reaches them. Before the models are
 * loaded there is nothing to do: loading indexes the articles as they are then.
 */
export function reindexKnowledgeNow(): Promise<void> {
  return registry.encoder && registry.knowledge ? reindexKnowledge() : Promise.resolve();
}

async function bootstrapSeedClassifier() {
  const dir = modelStorePath(SEED_CLASSIFIER_DIR);
  const trainConfig = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as { dataset_sha256: string };
  const metrics = trainerMetricsSchema.parse(JSON.parse(await readFile(path.join(dir, "metrics.json"), "utf8")));
  const version = `seed-${trainConfig.dataset_sha256.slice(0, 12)}`;
  const model = await registerModelVersion({ version, path: SEED_CLASSIFIER_DIR, metrics, datasetSha256: trainConfig.dataset_sha256 });
  const deployment = await recordDeployment({ version, action: "bootstrap", actor: "system" });
  return { ...deployment, model };
}

/** Registers the stock language model (`npm run models:build`) as the first LM deployment. */
async function bootstrapStockLm() {
  const dir = modelStorePath(STOCK_LM_DIR);
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as { version: string; files: Record<string, string> };
  const model = await registerModelVersion({
    version: manifest.version,
    kind: "lm",
    path: STOCK_LM_DIR,
    metrics: null,
    datasetSha256: "",
  });
  const deployment = await recordDeployment({ version: manifest.version, action: "bootstrap", actor: "system" });
  return { ...deployment, model };
}

/** The language model serving now (for its id and version; a reply holds it with `holdLanguageModel`). */
export function languageModel(): LanguageModel {
  if (!registry.lm) throw new Error("language model not loaded");
  return registry.lm.lm;
}

/**
 * The language model serving now, held for one reply: a swap meanwhile leaves it working for that
 * reply, and its session is released only after `release()`. Call `release` exactly once.
 */
export function holdLanguageModel(): { lm: LanguageModel; release: () => void } {
  const served = registry.lm;
  if (!served) throw new Error("language model not loaded");
  served.holders++;
  let released = false;
  return {
    lm: served.lm,
    release: () => {
      if (released) return;
      released = true;
      served.holders--;
      releaseIfUnused(served);
    },
  };
}

export function classifier(): Classifier {
  if (!registry.classifier) throw new Error("classifier not loaded");
  return registry.classifier;
}

export function encoder(): Encoder {
  if (!registry.encoder) throw new Error("encoder not loaded");
  return registry.encoder;
}

/** The help centre as this process retrieves from it now. */
export function knowledge(): KnowledgeIndex {
  if (!registry.knowledge) throw new Error("knowledge not indexed");
  return registry.knowledge;
}

/** What /api/health reports; null until every model is loaded and warm. */
export function modelStatus() {
  const { classifier: clf, knowledge: index } = registry;
  const lm = registry.lm?.lm;
  if (!lm || !clf || !index) return null;
  return {
    lm: { id: lm.id, version: lm.version },
    classifier: { version: clf.version, labels: clf.labels.length },
    shadow: shadowStatus(),
    knowledge: { articles: index.articles.length, facts: index.facts.length },
  };
}
