/** /ml/models/[version]: a candidate compared with production (and, after shadowing, its live figures), and its promotion. */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listModels } from "@/lib/db/ml-console";
import { shadowStats } from "@/lib/db/shadow";
import ui from "@/app/_console/console.module.css";
import { MlPage } from "../../_components/ml-page";
import { CalibrationCard } from "./calibration-card";
import { ComparisonView } from "./comparison-view";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Compare · ML · Loopdesk" };

export default async function MlModelPage({ params }: { params: Promise<{ version: string }> }) {
  const version = decodeURIComponent((await params).version);
  const identity = await requireStaffPage(AREA_ROLES.ml, `/ml/models/${encodeURIComponent(version)}`);
  const model = (await listModels()).find((m) => m.version === version);
  if (!model) notFound();
  const shadow = await shadowStats(model.version);
  return (
    <MlPage
      identity={identity}
      title={`Version ${model.version}`}
      aside={
        <Link href="/ml/models" className={ui.back}>
          ← All versions
        </Link>
      }
    >
      {model.status === "failed" ? (
        <p className={ui.errorText}>This version failed to load and cannot be promoted: {model.failureReason}</p>
      ) : (
        <>
          <ComparisonView version={model.version} isProduction={model.production} shadow={shadow.messages > 0 ? shadow : null} />
          <CalibrationCard calibration={model.calibration} />
        </>
      )}
    </MlPage>
  );
}
