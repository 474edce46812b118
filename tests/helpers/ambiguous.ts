/**
 * A customer message the bot answers with "Do you mean …?": the seed classifier is torn between two
 * help-centre topics on it and no help-centre sentence matches it closely. Found by running the real
 * classifier and decision over a list of short, vague messages, then confirming with the real server
 * (which one it is depends on the trained weights and the articles, so it is not hard-coded).
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { decide } from "@/lib/chat/decide";
import { config } from "@/lib/config";
import { loadClassifier } from "@/lib/models/classifier";
import { connectCustomer, sendAndWait } from "./chat-client";

const CANDIDATES = [
  "change it", "swap it", "change or cancel", "modify it", "pay", "the address on the order", "money back for the order", "the code for my order", "order issue",
  "payment for my order", "the item i got", "delivery change", "problem with my order", "question about my order",
  "my order and my account", "invoice for the refund", "refund my payment", "cancel the payment", "my parcel and my refund",
  "wrong size", "i paid twice", "where is my refund", "charged but no order", "can i pay with apple pay?",
  "my order", "the order", "about my package", "the payment", "my account", "something about my order", "order and refund",
  "the parcel", "return or exchange", "the money", "refund or cancel", "the box", "shipping and payment", "order payment",
  "help with order", "the thing i bought", "cancel or return", "the invoice", "my purchase", "about the refund", "an item",
  "the delivery", "order help", "send it back", "my stuff", "parcel or payment", "payment or shipping", "the parcel and the size",
  "my parcel size", "package and parcel", "delivery and size", "the package and the size", "my delivery money", "package or size",
  "order or parcel", "the delivery and the parcel", "my parcel shipping",
];

/**
 * @param serverUrl the server to confirm with
 * @param modelsDir the model store the server reads (its classifier/seed)
 * @param classifierVersion the version the server serves (GET /api/health)
 * @param topics the intents that have a live help-centre article
 */
export async function findAmbiguousMessage(serverUrl: string, modelsDir: string, classifierVersion: string, topics: ReadonlySet<string>): Promise<string> {
  const clf = await loadClassifier(path.resolve(modelsDir, "classifier/seed"), classifierVersion);
  for (const text of CANDIDATES) {
    if (decide(await clf.classify(text), 0, config().intentThresholds, topics).action !== "clarify") continue;
    const { socket } = await connectCustomer(serverUrl);
    try {
      if ((await sendAndWait(socket, { clientMessageId: randomUUID(), text })).clarify) return text;
    } finally {
      socket.disconnect();
    }
  }
  throw new Error("no message among the candidates makes the bot ask which of two topics is meant");
}
