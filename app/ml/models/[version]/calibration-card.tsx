/** A classifier version's calibration: temperature, ECE before and after it, and the out-of-scope method it chose. */
import type { ModelCalibration } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import styles from "../../_components/ml.module.css";

const METHOD_NAMES: Record<string, string> = {
  oos_class: "the out-of-scope class only",
  "oos_class+max_prob": "out-of-scope class + probability thresholds",
  "oos_class+mahalanobis": "out-of-scope class + distance to the intents (Mahalanobis)",
  "oos_class+max_prob+mahalanobis": "out-of-scope class + probability thresholds + distance to the intents (Mahalanobis)",
};

export function CalibrationCard({ calibration }: { calibration: ModelCalibration | null }) {
  return (
    <section className={`${ui.card} ${styles.section}`} aria-labelledby="calibration-heading" data-testid="calibration">
      <h2 id="calibration-heading">Calibration and out-of-scope detection</h2>
      {calibration ? (
        <table className={`${ui.table} ${styles.rows}`}>
          <tbody>
            <tr>
              <th scope="row">Temperature</th>
              <td className={ui.num}>{calibration.temperature.toFixed(3)}</td>
            </tr>
            <tr>
              <th scope="row">Expected calibration error (holdout)</th>
              <td className={ui.num} data-testid="ece">
                {calibration.eceBefore.toFixed(4)} before → {calibration.eceAfter.toFixed(4)} after temperature scaling
              </td>
            </tr>
            <tr>
              <th scope="row">Out of scope</th>
              <td>{calibration.oosMethod ? (METHOD_NAMES[calibration.oosMethod] ?? calibration.oosMethod) : "no out-of-scope examples to fit on: the configured threshold applies"}</td>
            </tr>
            <tr>
              <th scope="row">Fitted on</th>
              <td>
                {calibration.nFitted} {calibration.fittedOn} examples
              </td>
            </tr>
          </tbody>
        </table>
      ) : (
        <p className={ui.muted}>This version was trained without calibration: its probabilities are used as they are, with the configured thresholds.</p>
      )}
    </section>
  );
}
