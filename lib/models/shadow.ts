/**
 * This process's shadow classifier: a candidate version that also classifies every live customer
 * message, after production did and off the reply's path, so that its live agreement with production
 * can be judged before promotion. Which version is shadowed is the database's (lib/db/shadow.ts); the
 * deployment NOTIFY and the periodic check bring every server up to date (lib/models/registry.ts).
 */
import { currentShadow, saveShadowPrediction } from "../db/shadow";
import { log } from "../log";
import { metrics } from "../metrics";
import { shared } from "../process";
import { loadClassifier, type Classifier, type IntentPrediction } from "./classifier";
import { modelStorePath } from "./store";

interface ShadowState {
  classifier?: Classifier;
  /** Versions this process could not load: reported once, not retried at every check. */
  refused: Set<string>;
  /** Loads and unloads run one after another. */
  swaps: Promise<void>;
  /** Shadow classifications run one at a time, behind the replies' own work. */
  work: Promise<void>;
  waiting: number;
}

const state = shared<ShadowState>("__loopdeskShadow", () => ({ refused: new Set(), swaps: Promise.resolve(), work: Promise.resolve(), waiting: 0 }));

/** Beyond this many messages waiting for the shadow, new ones are skipped (counted): shadowing never builds a backlog. */
const MAX_WAITING = 100;

/**
 * Makes this process shadow what the database says. A version that fails to load is logged and counted
 * (modelSwapFailures, kind "shadow") and changes nothing else: whatever was shadowed before keeps being.
 */
export function deployShadow(): Promise<void> {
  const swap = state.swaps.then(async () => {
    const shadow = await currentShadow();
    const current = state.classifier;
    if (current?.version === shadow?.version) return;
    if (!shadow) {
      state.classifier = undefined;
      log.info({ version: current?.version }, "shadow classification stopped");
      return;
    }
    if (state.refused.has(shadow.version)) return;
    try {
      state.classifier = await loadClassifier(modelStorePath(shadow.model.path), shadow.version);
      log.info({ from: current?.version, to: shadow.version }, "shadow classifier loaded");
      metrics().modelSwaps.inc({ kind: "shadow" });
    } catch (err) {
      state.refused.add(shadow.version);
      log.error({ err, version: shadow.version }, "shadow classifier failed to load; shadowing as before");
      metrics().modelSwapFailures.inc({ kind: "shadow" });
    }
  });
  state.swaps = swap.catch((err: unknown) => log.error({ err }, "could not bring the shadow classifier up to date; retrying at the next deployment or check"));
  return swap;
}

/** What this process shadows now, and the versions it could not load, for /api/health. */
export function shadowStatus(): { version: string | null; refused: string[] } {
  return { version: state.classifier?.version ?? null, refused: [...state.refused] };
}

/**
 * Classifies a customer message with the shadow version too, once the current turn has moved on, and
 * stores both verdicts. Returns at once: the reply never waits for it, and a failure only logs.
 */
export function classifyInShadow(message: { id: string; text: string }, production: IntentPrediction): void {
  const shadow = state.classifier;
  if (!shadow || shadow.version === production.classifierVersion) return;
  if (state.waiting >= MAX_WAITING) {
    metrics().shadowPredictions.inc({ result: "skipped" });
    return;
  }
  state.waiting++;
  state.work = state.work.then(async () => {
    try {
      await new Promise(setImmediate); // after the turn's own next steps
      const p = await shadow.classify(message.text);
      await saveShadowPrediction({
        messageId: message.id,
        shadowVersion: shadow.version,
        shadowIntent: p.intent,
        shadowProbability: p.probability,
        productionVersion: production.classifierVersion,
        productionIntent: production.intent,
        productionProbability: production.probability,
      });
      metrics().shadowPredictions.inc({ result: p.intent === production.intent ? "agree" : "disagree" });
    } catch (err) {
      log.warn({ err, messageId: message.id, version: shadow.version }, "shadow classification failed");
      metrics().shadowPredictions.inc({ result: "failed" });
    } finally {
      state.waiting--;
    }
  });
}
