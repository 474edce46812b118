/**
 * The box a Chart.js chart draws in. It carries a data-testid and data-points (the number of points
 * drawn), since a canvas cannot be read by tests or screen readers; the charts' canvases have an
 * aria-label summary, and the pages show the same numbers in tables.
 */
import type { ReactNode } from "react";
import styles from "./console.module.css";

export function ChartBox({ testId, points, tall, children }: { testId: string; points: number; tall?: boolean; children: ReactNode }) {
  return (
    <div className={tall ? styles.chartTall : styles.chart} data-testid={testId} data-points={points}>
      {children}
    </div>
  );
}
