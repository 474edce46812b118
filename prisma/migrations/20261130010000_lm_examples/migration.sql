-- CreateEnum
CREATE TYPE "LmExampleOrigin" AS ENUM ('staff_correction', 'agent_reply');

-- CreateTable
CREATE TABLE "LmExample" (
    "id" UUID NOT NULL,
    "origin" "LmExampleOrigin" NOT NULL,
    "approvedById" UUID NOT NULL,
    "sourceMessageId" UUID NOT NULL,
    "conversationId" UUID NOT NULL,
    "intent" TEXT,
    "facts" JSONB NOT NULL,
    "history" JSONB NOT NULL,
    "question" TEXT NOT NULL,
    "answer" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LmExample_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "LmExample_sourceMessageId_key" ON "LmExample"("sourceMessageId");

-- CreateIndex
CREATE INDEX "LmExample_conversationId_idx" ON "LmExample"("conversationId");

-- CreateIndex
CREATE INDEX "LmExample_createdAt_idx" ON "LmExample"("createdAt");

-- AddForeignKey
ALTER TABLE "LmExample" ADD CONSTRAINT "LmExample_approvedById_fkey" FOREIGN KEY ("approvedById") REFERENCES "StaffUser"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LmExample" ADD CONSTRAINT "LmExample_sourceMessageId_fkey" FOREIGN KEY ("sourceMessageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LmExample" ADD CONSTRAINT "LmExample_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "Conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
