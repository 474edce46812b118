-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "replyHeartbeatAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Message_replyStatus_replyHeartbeatAt_idx" ON "Message"("replyStatus", "replyHeartbeatAt");
