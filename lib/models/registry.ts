/**
 * The models this process serves with, and their hot-swap. Loaded once at start; a deployment
 * (LISTEN/NOTIFY) makes every server load the new classifier, smoke-test it and swap the reference
 * atomically. A turn holds the model object it started with, so chats in flight finish on it.
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
import { loadLanguageModel, type LanguageModel } from "./lm";
import { modelStorePath } from "./store";

interface Registry {
  lm?: LanguageModel;
  classifier?: Classifier;
  encoder?: Encoder;
  knowledge?: KnowledgeIndex;
  /** Re-indexing runs one at a time; a save during one is picked up by the next. */
  reindexing?: Promise<void>;
  loading?: Promise<void>;
  /** Swaps run one after another, in the order deployments arrive. */
  swaps: Promise<void>;
}

const registry = shared<Registry>("__loopdeskModels", () => ({ swaps: Promise.resolve() }));

/** How often each server checks the deployments table, in case a NOTIFY was missed. */
const RECONCILE_MS = 30_000;

/** The classifier shipped by `npm run models:build`, deployed when nothing else ever was. */
export const SEED_CLASSIFIER_DIR = "classifier/seed";

export function loadModels(): Promise<void> {
  registry.loading ??= (async () => {
    const started = performance.now();
    const [lm, encoder] = await Promise.all([
      loadLanguageModel(config().LOOPDESK_MODELS_DIR),
      loadEncoder(config().LOOPDESK_MODELS_DIR),
      deployProductionClassifier(),
    ]);
    registry.lm = lm;
    registry.encoder = encoder;
    await reindexKnowledge();
    await listen(DEPLOYMENT_CHANNEL, () => void deployProductionClassifier(), listenerState(DEPLOYMENT_CHANNEL));
    // A NOTIFY missed while the listener was down (or never sent) is caught up within this period.
    setInterval(() => void deployProductionClassifier(), RECONCILE_MS).unref();
    await listen(KNOWLEDGE_CHANNEL, () => void reindexKnowledge(), listenerState(KNOWLEDGE_CHANNEL));
    log.info(
      { lm: lm.version, classifier: registry.classifier?.version, facts: registry.knowledge?.facts.length, ms: Math.round(performance.now() - started) },
      "models loaded",
    );
  })();
  return registry.loading;
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

export function languageModel(): LanguageModel {
  if (!registry.lm) throw new Error("language model not loaded");
  return registry.lm;
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
  const { lm, classifier: clf, knowledge: index } = registry;
  if (!lm || !clf || !index) return null;
  return {
    lm: { id: lm.id, version: lm.version },
    classifier: { version: clf.version, labels: clf.labels.length },
    knowledge: { articles: index.articles.length, facts: index.facts.length },
  };
}
