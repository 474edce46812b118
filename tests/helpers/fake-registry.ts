/**
 * The model registry replaced at its seam, for tests of the turn around a chosen language model: one
 * help-centre fact, an encoder that finds it relevant to anything and a classifier sure of its topic, so
 * retrieval and the decision always lead to generation. Use inside `vi.mock("@/lib/models/registry", …)`.
 */
import type { Server } from "socket.io";
import type { LanguageModel } from "@/lib/models/lm";

export function fakeRegistry(lm: () => LanguageModel) {
  const unit = new Float32Array([1, 0]);
  return {
    encoder: () => ({ embed: async (texts: string[]) => texts.map(() => unit) }),
    knowledge: () => ({
      articles: [{ slug: "shipping", title: "Shipping", intent: "shipping_info", version: 1, body: "Standard shipping takes 3-5 business days." }],
      facts: [{ id: "shipping#0", text: "Standard shipping takes 3-5 business days.", article: { slug: "shipping", title: "Shipping", version: 1 }, vector: unit, inArticle: unit, clauses: [] }],
    }),
    classifier: () => ({
      version: "fake-classifier",
      classify: async () => ({ intent: "shipping_info", probability: 0.99, runnerUpIntent: "order_status", runnerUpProbability: 0.01, classifierVersion: "fake-classifier" }),
    }),
    languageModel: lm,
    holdLanguageModel: () => ({ lm: lm(), release: () => {} }),
  };
}

/** A socket.io server stand-in that records what would have been sent. */
export function recordingIo() {
  const sent: { event: string; payload: unknown }[] = [];
  const room = { emit: (event: string, payload: unknown) => sent.push({ event, payload }) };
  return { io: { of: () => ({ to: () => room }) } as unknown as Server, sent };
}
