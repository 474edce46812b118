/** Reading Prometheus metrics the server exposes on METRICS_PORT, for tests. */

/** The value of one sample in Prometheus text format (0 when absent), e.g. sample(text, "x_total", 'outcome="complete"'). */
export function sample(text: string, name: string, labels = ""): number {
  const series = labels ? `${name}{${labels}}` : name;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
