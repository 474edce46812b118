/**
 * The promotion gate: a candidate may not lose more than one point of macro-F1 against production
 * on the same frozen holdout, nor more than five points of F1 on any intent with 10+ examples there.
 */
import type { Evaluation } from "./evaluate";

export const GATE = { maxMacroF1Drop: 0.01, maxIntentF1Drop: 0.05, minIntentSupport: 10 } as const;

export interface IntentComparison {
  intent: string;
  support: number;
  candidate: number;
  production: number;
  delta: number;
  regression: boolean;
}

export interface GateVerdict {
  pass: boolean;
  reasons: string[];
  candidate: { accuracy: number; macroF1: number };
  production: { accuracy: number; macroF1: number };
  macroF1Delta: number;
  perIntent: IntentComparison[];
  holdoutSize: number;
}

const pts = (x: number) => `${(x * 100).toFixed(1)}`;

export function gateVerdict(candidate: Evaluation, production: Evaluation): GateVerdict {
  const reasons: string[] = [];
  const macroF1Delta = candidate.macroF1 - production.macroF1;
  if (macroF1Delta < -GATE.maxMacroF1Drop) {
    reasons.push(`macro-F1 drops ${pts(-macroF1Delta)} points (${pts(production.macroF1)} → ${pts(candidate.macroF1)}); at most ${pts(GATE.maxMacroF1Drop)} allowed`);
  }
  const perIntent = Object.entries(candidate.perIntent)
    .filter(([, s]) => s.support > 0)
    .map(([intent, s]) => {
      const prod = production.perIntent[intent]?.f1 ?? 0;
      const delta = s.f1 - prod;
      const regression = s.support >= GATE.minIntentSupport && delta < -GATE.maxIntentF1Drop;
      if (regression) reasons.push(`${intent}: F1 drops ${pts(-delta)} points (${pts(prod)} → ${pts(s.f1)}, ${s.support} examples)`);
      return { intent, support: s.support, candidate: s.f1, production: prod, delta, regression };
    })
    .sort((a, b) => a.delta - b.delta);
  return {
    pass: reasons.length === 0,
    reasons,
    candidate: { accuracy: candidate.accuracy, macroF1: candidate.macroF1 },
    production: { accuracy: production.accuracy, macroF1: production.macroF1 },
    macroF1Delta,
    perIntent,
    holdoutSize: candidate.n,
  };
}
