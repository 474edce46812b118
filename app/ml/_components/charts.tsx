"use client";
/** The ML console's charts (Chart.js through react-chartjs-2; confusion matrices with chartjs-chart-matrix), each in a ChartBox. */
import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
  type ChartOptions,
} from "chart.js";
import { MatrixController, MatrixElement } from "chartjs-chart-matrix";
import { Bar, Chart, Line } from "react-chartjs-2";
import { isLmEval, type ClassifierEpochEval, type Confusion, type DatasetIntent, type EpochEval, type LossPoint, type ProductionStats } from "@/lib/protocol/ml";
import { ChartBox } from "@/app/_console/chart-box";
import { percent } from "@/app/_console/format";
import styles from "./ml.module.css";

// Only the parts drawn here; react-chartjs-2's Line and Bar register their own controllers.
ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, MatrixController, MatrixElement, Tooltip, Legend);

const BLUE = "#1d5fd1";
const GREEN = "#15803d";
const AMBER = "#e39b17";
const GREY = "#9ca3af";

/** Training loss against epochs (1.5 = half-way through epoch 2), drawn as points arrive. */
export function LossChart({ points, epochs }: { points: LossPoint[]; epochs: number }) {
  const options: ChartOptions<"line"> = {
    maintainAspectRatio: false,
    animation: false,
    parsing: false,
    scales: {
      x: { type: "linear", min: 0, max: Math.max(epochs, 1), title: { display: true, text: "epoch" } },
      y: { type: "linear", beginAtZero: true, title: { display: true, text: "training loss" } },
    },
    plugins: { legend: { display: false } },
  };
  const last = points.at(-1);
  return (
    <ChartBox testId="loss-chart" points={points.length}>
      <Line
        aria-label={last ? `Training loss, ${points.length} points, latest ${last.loss.toFixed(3)} at epoch ${last.x.toFixed(2)}` : "Training loss: no points yet"}
        role="img"
        options={options}
        data={{ datasets: [{ label: "training loss", data: points.map((p) => ({ x: p.x, y: p.loss })), borderColor: BLUE, pointRadius: 0, borderWidth: 2 }] }}
      />
    </ChartBox>
  );
}

/** After each epoch: the classifier's holdout accuracy and macro-F1, or the language model's held-out loss. */
export function EvalChart({ evals, epochs }: { evals: EpochEval[]; epochs: number }) {
  const lm = evals.filter(isLmEval);
  const classifier = evals.filter((e): e is ClassifierEpochEval => !isLmEval(e));
  const isLm = lm.length > 0;
  const options: ChartOptions<"line"> = {
    maintainAspectRatio: false,
    animation: false,
    parsing: false,
    scales: {
      x: { type: "linear", min: 0, max: Math.max(epochs, 1), ticks: { stepSize: 1 }, title: { display: true, text: "epoch" } },
      y: isLm
        ? { type: "linear", beginAtZero: true, title: { display: true, text: "held-out loss" } }
        : { type: "linear", min: 0, max: 1, title: { display: true, text: "holdout" }, ticks: { callback: (v) => percent(Number(v), 1) } },
    },
  };
  const lastLm = lm.at(-1);
  const lastClassifier = classifier.at(-1);
  const label = lastLm
    ? `Held-out loss after epoch ${lastLm.epoch}: ${lastLm.holdout_loss.toFixed(3)}, perplexity ${lastLm.holdout_perplexity.toFixed(2)}`
    : lastClassifier
      ? `Holdout after epoch ${lastClassifier.epoch}: accuracy ${percent(lastClassifier.holdout_accuracy, 1)}, macro-F1 ${percent(lastClassifier.holdout_macro_f1, 1)}`
      : "Holdout metrics: no epoch finished yet";
  const datasets = isLm
    ? [{ label: "held-out loss", data: lm.map((e) => ({ x: e.epoch, y: e.holdout_loss })), borderColor: AMBER, backgroundColor: AMBER }]
    : [
        { label: "accuracy", data: classifier.map((e) => ({ x: e.epoch, y: e.holdout_accuracy })), borderColor: GREEN, backgroundColor: GREEN },
        { label: "macro-F1", data: classifier.map((e) => ({ x: e.epoch, y: e.holdout_macro_f1 })), borderColor: AMBER, backgroundColor: AMBER },
      ];
  return (
    <ChartBox testId="eval-chart" points={evals.length}>
      <Line aria-label={label} role="img" options={options} data={{ datasets }} />
    </ChartBox>
  );
}

/** How many customer messages production tagged with each intent in the window. */
export function IntentDistributionChart({ intents }: { intents: ProductionStats["intents"] }) {
  const options: ChartOptions<"bar"> = {
    maintainAspectRatio: false,
    indexAxis: "y",
    plugins: { legend: { display: false } },
    scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
  };
  return (
    <ChartBox testId="intent-chart" points={intents.length} tall>
      <Bar
        aria-label={`Messages per intent: ${intents.map((i) => `${i.intent} ${i.count}`).join(", ") || "none"}`}
        role="img"
        options={options}
        data={{ labels: intents.map((i) => i.intent), datasets: [{ label: "messages", data: intents.map((i) => i.count), backgroundColor: BLUE }] }}
      />
    </ChartBox>
  );
}

/** Examples per intent, stacked by where they came from. */
export function DatasetChart({ intents }: { intents: DatasetIntent[] }) {
  const options: ChartOptions<"bar"> = {
    maintainAspectRatio: false,
    indexAxis: "y",
    scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } },
  };
  const series = [
    { key: "seed", label: "seed", color: GREY },
    { key: "import", label: "imported", color: BLUE },
    { key: "staff", label: "staff-labelled", color: GREEN },
  ] as const;
  return (
    <ChartBox testId="dataset-chart" points={intents.length} tall>
      <Bar
        aria-label={`Examples per intent: ${intents.map((i) => `${i.intent} ${i.total}`).join(", ") || "none"}`}
        role="img"
        options={options}
        data={{
          labels: intents.map((i) => i.intent),
          datasets: series.map((s) => ({ label: s.label, data: intents.map((i) => i[s.key]), backgroundColor: s.color })),
        }}
      />
    </ChartBox>
  );
}

/** A confusion matrix as a heat map: rows are true intents, columns predictions, shade = share of the row. */
export function ConfusionHeatmap({ confusion, title, testId }: { confusion: Confusion; title: string; testId: string }) {
  const { labels, matrix } = confusion;
  const cells = matrix.flatMap((row, r) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return row.map((count, c) => ({ x: labels[c] ?? String(c), y: labels[r] ?? String(r), v: count, share: count / total }));
  });
  const n = Math.max(labels.length, 1);
  const options: ChartOptions<"matrix"> = {
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          title: () => "",
          label: (ctx) => {
            const cell = cells[ctx.dataIndex];
            return cell ? `true ${cell.y} → predicted ${cell.x}: ${cell.v} (${percent(cell.share, 1)} of ${cell.y})` : "";
          },
        },
      },
    },
    scales: {
      x: { type: "category", labels, offset: true, ticks: { autoSkip: false, maxRotation: 90, minRotation: 60, font: { size: 10 } }, grid: { display: false }, title: { display: true, text: "predicted" } },
      y: { type: "category", labels, offset: true, ticks: { autoSkip: false, font: { size: 10 } }, grid: { display: false }, title: { display: true, text: "true" } },
    },
  };
  const errors = cells.filter((c) => c.x !== c.y && c.v > 0).sort((a, b) => b.v - a.v);
  const summary = errors.length === 0 ? "No confusions." : `Most confused: ${errors.slice(0, 3).map((e) => `${e.y} as ${e.x} (${e.v})`).join(", ")}.`;
  return (
    <figure className={styles.figure}>
      <figcaption>{title}</figcaption>
      <ChartBox testId={testId} points={cells.length} tall>
        <Chart
          type="matrix"
          aria-label={`${title}: ${labels.length} intents. ${summary}`}
          role="img"
          options={options}
          data={{
            datasets: [
              {
                label: title,
                data: cells,
                backgroundColor: (ctx) => {
                  const cell = cells[ctx.dataIndex];
                  const alpha = cell ? 0.06 + 0.94 * cell.share : 0;
                  return cell && cell.x !== cell.y && cell.v > 0 ? `rgba(185, 28, 28, ${alpha})` : `rgba(29, 95, 209, ${alpha})`;
                },
                borderWidth: 0,
                width: ({ chart }) => (chart.chartArea ? chart.chartArea.width / n - 1 : 0),
                height: ({ chart }) => (chart.chartArea ? chart.chartArea.height / n - 1 : 0),
              },
            ],
          }}
        />
      </ChartBox>
    </figure>
  );
}
