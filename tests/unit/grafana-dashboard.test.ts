/** The Grafana dashboard (ops/grafana-dashboard.json) queries only metrics lib/metrics.ts registers, and shows each of them. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { metrics } from "@/lib/metrics";

const dashboard = JSON.parse(readFileSync("ops/grafana-dashboard.json", "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
const registered = metrics()
  .registry.getMetricsAsArray()
  .map((m) => m.name)
  .filter((name) => name.startsWith("loopdesk_"));

/** The registered metric a queried series belongs to (a histogram's series end in _bucket, _count or _sum). */
function metricOf(series: string): string {
  return registered.includes(series) ? series : series.replace(/_(bucket|count|sum)$/, "");
}

const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bloopdesk_\w+/g)].map(([series]) => series))));

describe("the Grafana dashboard", () => {
  it("queries only registered metrics", () => {
    expect(queried.size).toBeGreaterThan(0);
    for (const series of queried) expect(registered, series).toContain(metricOf(series));
  });

  it("shows every Loopdesk metric", () => {
    const shown = new Set([...queried].map(metricOf));
    expect(registered.filter((name) => !shown.has(name))).toEqual([]);
  });
});
