/** /ml/runs/[id]: one training run, followed live. */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { getRun } from "@/lib/db/ml-console";
import { watchRunSchema } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { MlPage } from "../../_components/ml-page";
import { RunLive } from "./run-live";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Run · ML · Loopdesk" };

export default async function MlRunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const identity = await requireStaffPage(AREA_ROLES.ml, `/ml/runs/${id}`);
  // Run ids are UUIDs; anything else cannot be a run (and must not reach the query).
  const run = watchRunSchema.safeParse({ runId: id }).success ? await getRun(id) : null;
  if (!run) notFound();
  const settings = Object.entries(run.params)
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");
  return (
    <MlPage
      identity={identity}
      title={`Run ${run.id.slice(0, 8)}`}
      aside={
        <Link href="/ml/runs" className={ui.back}>
          ← All runs
        </Link>
      }
    >
      <p className={ui.muted}>
        Started by {run.createdBy} on {run.device}
        {settings && ` · ${settings}`}
      </p>
      <RunLive initial={run} />
    </MlPage>
  );
}
