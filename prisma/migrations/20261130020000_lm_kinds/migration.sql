-- Issue 12: language-model versions beside classifier versions, runs of either kind, and the LM gate's reports.
CREATE TYPE "ModelKind" AS ENUM ('classifier', 'lm');

ALTER TABLE "ModelVersion" ADD COLUMN "kind" "ModelKind" NOT NULL DEFAULT 'classifier';

ALTER TABLE "TrainingRun" ADD COLUMN "kind" "ModelKind" NOT NULL DEFAULT 'classifier';

CREATE TABLE "LmGateReport" (
    "id" UUID NOT NULL,
    "candidate" TEXT NOT NULL,
    "production" TEXT NOT NULL,
    "questionsSha256" TEXT NOT NULL,
    "pass" BOOLEAN NOT NULL,
    "verdict" JSONB NOT NULL,
    "replies" JSONB NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LmGateReport_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "ModelVersion_kind_createdAt_idx" ON "ModelVersion"("kind", "createdAt");

CREATE INDEX "LmGateReport_candidate_createdAt_idx" ON "LmGateReport"("candidate", "createdAt");
