/**
 * Putting a classifier candidate in shadow and taking it out, for the CLI and the ML console. The
 * candidate is loaded (and smoke-tested) here first: one that fails is reported and nothing changes.
 * Every running server then loads it (lib/models/shadow.ts) and classifies each live message with it
 * too; promoting it ends the shadow (lib/training/promote.ts).
 */
import { findModelVersion, productionDeployment } from "../db/ml";
import { currentShadow, recordShadow, shadowQueue, shadowStats } from "../db/shadow";
import { intentLabels } from "../db/inbox";
import { ApiError } from "../http";
import { loadClassifier } from "../models/classifier";
import { modelStorePath } from "../models/store";
import type { ShadowView } from "../protocol/ml";

/** A shadow change that may not happen: a 409 over HTTP, one line in the CLI. */
class ShadowRefused extends ApiError {
  constructor(message: string) {
    super(409, "shadow_refused", message);
  }
}

export async function startShadow(opts: { version: string; actor: string }) {
  const model = await findModelVersion(opts.version);
  if (!model) throw new ShadowRefused(`no model version ${opts.version}`);
  if (model.kind !== "classifier") throw new ShadowRefused(`${model.version} is a language model: only classifier versions can be shadowed`);
  if (model.status === "failed") throw new ShadowRefused(`${model.version} failed to load earlier (${model.failureReason ?? "unknown"}); it cannot be shadowed`);
  if ((await productionDeployment())?.version === model.version) throw new ShadowRefused(`${model.version} is in production: shadow a candidate instead`);
  const current = await currentShadow();
  if (current?.version === model.version) throw new ShadowRefused(`${model.version} is already in shadow`);
  try {
    await loadClassifier(modelStorePath(model.path), model.version);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ShadowRefused(`${model.version} cannot be loaded, so it was not put in shadow (${current ? `${current.version} stays in shadow` : "nothing is shadowed"}): ${reason}`);
  }
  await recordShadow({ version: model.version, actor: opts.actor });
  return { version: model.version, replaced: current?.version ?? null };
}

export async function stopShadow(opts: { actor: string }) {
  const current = await currentShadow();
  if (!current) throw new ShadowRefused("nothing is in shadow");
  await recordShadow({ version: null, actor: opts.actor, reason: "off" });
  return { version: current.version };
}

/** What the console's shadow section shows: the version, its live figures and the disagreements to label. */
export async function shadowView(): Promise<ShadowView> {
  const current = await currentShadow();
  if (!current) return { shadow: null };
  const [production, stats, queue, intents] = await Promise.all([productionDeployment(), shadowStats(current.version), shadowQueue(current.version), intentLabels()]);
  return {
    shadow: { version: current.version, since: current.since.toISOString(), actor: current.actor, production: production?.version ?? null, stats, queue, intents },
  };
}
