/**
 * A customer message the seed classifier is torn on between two help-centre topics, so the bot asks
 * "Do you mean …?": found by running the real classifier and decision over a list of short, vague
 * messages (which one it is depends on the trained weights, so it is not hard-coded).
 */
import path from "node:path";
import { decide } from "@/lib/chat/decide";
import { config } from "@/lib/config";
import { loadClassifier } from "@/lib/models/classifier";

const CANDIDATES = [
  "can i pay with apple pay?", "where can I find the user manual for my kettle?", "change it", "the address on the order",
  "money back for the order", "the code for my order", "order issue", "payment for my order", "the item i got", "delivery change",
  "problem with my order", "question about my order", "my order and my account", "invoice for the refund", "refund my payment",
  "cancel the payment", "my parcel and my refund", "wrong size", "i paid twice", "where is my refund", "charged but no order",
];

/**
 * @param modelsDir the model store the server reads (its classifier/seed)
 * @param classifierVersion the version the server serves (GET /api/health)
 * @param topics the intents that have a live help-centre article
 */
export async function findAmbiguousMessage(modelsDir: string, classifierVersion: string, topics: ReadonlySet<string>): Promise<string> {
  const clf = await loadClassifier(path.resolve(modelsDir, "classifier/seed"), classifierVersion);
  for (const text of CANDIDATES) {
    if (decide(await clf.classify(text), 0, config().intentThresholds, topics).action === "clarify") return text;
  }
  throw new Error("no message among the candidates makes the classifier torn between two topics");
}
