/** A model version's name, with a "production" badge on the one serving. */
import ui from "@/app/_console/console.module.css";
import styles from "./ml.module.css";

export function VersionTag({ version, production }: { version: string; production: boolean }) {
  return (
    <>
      <span className={ui.tag}>{version}</span> {production && <span className={`${ui.badge} ${styles.production}`}>production</span>}
    </>
  );
}
