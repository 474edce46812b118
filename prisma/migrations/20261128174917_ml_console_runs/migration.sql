-- AlterTable
ALTER TABLE "TrainingRun" ADD COLUMN     "cancelRequestedAt" TIMESTAMP(3),
ADD COLUMN     "cancelledBy" TEXT,
ADD COLUMN     "heartbeatAt" TIMESTAMP(3),
ADD COLUMN     "jobId" UUID;

-- CreateIndex
CREATE INDEX "TrainingRun_status_createdAt_idx" ON "TrainingRun"("status", "createdAt");
