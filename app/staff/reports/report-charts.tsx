"use client";
/** The outcome report's charts, one point per day or week: what became of conversations, the rates, the wait for a human. */
import { BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip, type ChartOptions } from "chart.js";
import type { ReactNode } from "react";
import { Bar, Line } from "react-chartjs-2";
import type { ReportPeriod } from "@/lib/protocol/reports";
import { ChartBox } from "@/app/_console/chart-box";
import { percent } from "@/app/_console/format";

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend);

const BLUE = "#1d5fd1";
const GREEN = "#15803d";
const AMBER = "#e39b17";
const GREY = "#9ca3af";

function Figure({ caption, testId, points, children }: { caption: string; testId: string; points: number; children: ReactNode }) {
  return (
    <figure>
      <figcaption>{caption}</figcaption>
      <ChartBox testId={testId} points={points}>
        {children}
      </ChartBox>
    </figure>
  );
}

const line = (label: string, data: (number | null)[], color: string) => ({ label, data, borderColor: color, backgroundColor: color, spanGaps: true });

export function ReportCharts({ periods }: { periods: ReportPeriod[] }) {
  const labels = periods.map((p) => p.period);
  const count = (n: number, what: string) => `${n} ${what}`;
  const sum = (get: (p: ReportPeriod) => number) => periods.reduce((a, p) => a + get(p), 0);

  const stacked: ChartOptions<"bar"> = {
    maintainAspectRatio: false,
    animation: false,
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
  };
  const rates: ChartOptions<"line"> = {
    maintainAspectRatio: false,
    animation: false,
    scales: { y: { min: 0, max: 1, ticks: { callback: (v) => percent(Number(v)) } } },
  };
  const minutes: ChartOptions<"line"> = {
    maintainAspectRatio: false,
    animation: false,
    scales: { y: { beginAtZero: true, title: { display: true, text: "minutes" } } },
  };
  const inMinutes = (ms: number | null) => (ms === null ? null : ms / 60_000);

  return (
    <>
      <Figure caption="Conversations by outcome" testId="outcomes-chart" points={periods.length}>
        <Bar
          role="img"
          aria-label={`Conversations: ${count(sum((p) => p.conversations), "in all")}, ${count(sum((p) => p.botResolved), "resolved by the bot")}, ${count(sum((p) => p.handoffs), "handed to staff")}`}
          options={stacked}
          data={{
            labels,
            datasets: [
              { label: "resolved by the bot", data: periods.map((p) => p.botResolved), backgroundColor: GREEN },
              { label: "handed to staff", data: periods.map((p) => p.handoffs), backgroundColor: AMBER },
              { label: "other (open, 👎, taken over)", data: periods.map((p) => p.conversations - p.botResolved - p.handoffs), backgroundColor: GREY },
            ],
          }}
        />
      </Figure>
      <Figure caption="Rates" testId="rates-chart" points={periods.length}>
        <Line
          role="img"
          aria-label="Share resolved by the bot, handoff rate and CSAT response rate per period"
          options={rates}
          data={{
            labels,
            datasets: [
              line("resolved by the bot", periods.map((p) => p.botResolvedShare), GREEN),
              line("handoff rate", periods.map((p) => p.handoffRate), AMBER),
              line("CSAT response rate", periods.map((p) => p.csatResponseRate), BLUE),
            ],
          }}
        />
      </Figure>
      <Figure caption="Time to the first human reply" testId="human-reply-chart" points={periods.length}>
        <Line
          role="img"
          aria-label="Median and 90th percentile of the time from a handoff to the first agent reply, per period"
          options={minutes}
          data={{
            labels,
            datasets: [
              line("median", periods.map((p) => inMinutes(p.firstHumanReplyMedianMs)), BLUE),
              line("90th percentile", periods.map((p) => inMinutes(p.firstHumanReplyP90Ms)), AMBER),
            ],
          }}
        />
      </Figure>
    </>
  );
}
