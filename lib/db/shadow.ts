/**
 * Shadow classification's database side: which classifier version every server shadows now (the newest
 * ShadowDeployment row; a NOTIFY on the deployment channel tells servers to look), the two predictions
 * of each live message, and the figures and disagreement queue the ML console shows.
 */
import type { ShadowIntentDisagreement, ShadowQueueItem, ShadowStats } from "../protocol/ml";
import { db } from "./client";
import { DEPLOYMENT_CHANNEL } from "./ml";
import { notify } from "./listen";

/** The newest shadow row: the version shadowed now, or null when shadowing is off (or never started). */
export async function currentShadow() {
  const row = await db().shadowDeployment.findFirst({ orderBy: { createdAt: "desc" }, include: { model: true } });
  return row?.version ? { version: row.version, since: row.createdAt, actor: row.actor, model: row.model! } : null;
}

/**
 * Records what every server shadows from now on (`version` null: nothing), audits it and tells every
 * server. `reason` says why shadowing stopped ("off", "promoted").
 */
export async function recordShadow(data: { version: string | null; actor: string; reason?: string }) {
  const row = await db().$transaction(async (tx) => {
    const r = await tx.shadowDeployment.create({ data });
    await tx.auditLog.create({
      data: { actor: data.actor, action: data.version ? "model.shadow" : "model.shadow_off", subject: data.version ?? "", details: { reason: data.reason ?? null } },
    });
    return r;
  });
  await notify(DEPLOYMENT_CHANNEL, `shadow:${data.version ?? ""}`);
  return row;
}

/** Stores both verdicts on a message once per shadow version (a resent message is classified again: kept once). */
export async function saveShadowPrediction(data: {
  messageId: string;
  shadowVersion: string;
  shadowIntent: string;
  shadowProbability: number;
  productionVersion: string;
  productionIntent: string;
  productionProbability: number;
}) {
  await db().shadowPrediction.createMany({ data: [{ ...data, agrees: data.shadowIntent === data.productionIntent }], skipDuplicates: true });
}

/** How many intents the console lists under "disagrees most". */
const TOP_INTENTS = 10;

/** Live agreement of `version` with production over every message it shadowed, by production intent, and what staff said. */
export async function shadowStats(version: string): Promise<ShadowStats> {
  const prisma = db();
  const where = { shadowVersion: version };
  const [byIntent, pairs, labelled] = await Promise.all([
    prisma.shadowPrediction.groupBy({ by: ["productionIntent", "agrees"], where, _count: { _all: true } }),
    prisma.shadowPrediction.groupBy({ by: ["productionIntent", "shadowIntent"], where: { ...where, agrees: false }, _count: { _all: true } }),
    prisma.shadowPrediction.findMany({
      where: { ...where, agrees: false, message: { intentLabels: { some: {} } } },
      select: {
        shadowIntent: true,
        productionIntent: true,
        message: { select: { intentLabels: { orderBy: [{ createdAt: "desc" }, { source: "desc" }, { id: "desc" }], take: 1, select: { intent: true } } } },
      },
    }),
  ]);
  const intents = new Map<string, ShadowIntentDisagreement>();
  let messages = 0;
  let agreements = 0;
  for (const g of byIntent) {
    const row = intents.get(g.productionIntent) ?? { intent: g.productionIntent, messages: 0, disagreements: 0, rate: 0, shadowSays: null };
    row.messages += g._count._all;
    if (!g.agrees) row.disagreements += g._count._all;
    intents.set(g.productionIntent, row);
    messages += g._count._all;
    if (g.agrees) agreements += g._count._all;
  }
  // What the shadow says most often instead, per production intent.
  for (const p of [...pairs].sort((a, b) => b._count._all - a._count._all)) {
    const row = intents.get(p.productionIntent)!;
    row.shadowSays ??= p.shadowIntent;
  }
  const disagreeing = [...intents.values()]
    .filter((i) => i.disagreements > 0)
    .map((i) => ({ ...i, rate: i.disagreements / i.messages }))
    .sort((a, b) => b.disagreements - a.disagreements || b.rate - a.rate || a.intent.localeCompare(b.intent))
    .slice(0, TOP_INTENTS);
  const label = (l: (typeof labelled)[number]) => l.message.intentLabels[0]!.intent;
  return {
    version,
    messages,
    agreements,
    agreement: messages ? agreements / messages : null,
    disagreeing,
    labelled: {
      disagreements: labelled.length,
      shadowRight: labelled.filter((l) => label(l) === l.shadowIntent).length,
      productionRight: labelled.filter((l) => label(l) === l.productionIntent).length,
    },
  };
}

/** Disagreements of `version` that no staff member has labelled yet, newest first: the labelling queue. */
export async function shadowQueue(version: string, limit = 50): Promise<ShadowQueueItem[]> {
  const rows = await db().shadowPrediction.findMany({
    where: { shadowVersion: version, agrees: false, message: { reviewed: false } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit,
    include: { message: { select: { text: true, conversationId: true } } },
  });
  return rows.map((r) => ({
    messageId: r.messageId,
    conversationId: r.message.conversationId,
    text: r.message.text,
    productionIntent: r.productionIntent,
    productionProbability: r.productionProbability,
    shadowIntent: r.shadowIntent,
    shadowProbability: r.shadowProbability,
    createdAt: r.createdAt.toISOString(),
  }));
}
