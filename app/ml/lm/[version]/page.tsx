/** /ml/lm/[version]: a candidate language model beside production on every benchmark question, and its promotion. */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listLmModels, lmGateReport } from "@/lib/db/ml-console";
import ui from "@/app/_console/console.module.css";
import { MlPage } from "../../_components/ml-page";
import { SideBySide } from "./side-by-side";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Language model candidate · ML · Loopdesk" };

export default async function MlLmVersionPage({ params }: { params: Promise<{ version: string }> }) {
  const version = decodeURIComponent((await params).version);
  const identity = await requireStaffPage(AREA_ROLES.ml, `/ml/lm/${encodeURIComponent(version)}`);
  const model = (await listLmModels()).find((m) => m.version === version);
  if (!model) notFound();
  return (
    <MlPage
      identity={identity}
      title={`Language model ${model.version}`}
      aside={
        <Link href="/ml/lm" className={ui.back}>
          ← All language model versions
        </Link>
      }
    >
      {model.status === "failed" ? (
        <p className={ui.errorText}>This version failed to load and cannot be promoted: {model.failureReason}</p>
      ) : (
        <SideBySide version={model.version} isProduction={model.production} initial={await lmGateReport(model.version)} />
      )}
    </MlPage>
  );
}
