-- CreateEnum
CREATE TYPE "ConversationStatus" AS ENUM ('bot', 'waiting_for_agent', 'agent', 'closed');

-- CreateEnum
CREATE TYPE "MessageRole" AS ENUM ('customer', 'bot', 'agent', 'system');

-- CreateEnum
CREATE TYPE "ReplyStatus" AS ENUM ('streaming', 'complete', 'stopped', 'failed', 'interrupted');

-- CreateEnum
CREATE TYPE "LabelSource" AS ENUM ('confirmed', 'corrected');

-- CreateEnum
CREATE TYPE "ExampleSource" AS ENUM ('seed', 'import');

-- CreateEnum
CREATE TYPE "ModelStatus" AS ENUM ('ready', 'failed');

-- CreateEnum
CREATE TYPE "TrainingRunStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "Customer" (
    "id" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Customer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Conversation" (
    "id" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "status" "ConversationStatus" NOT NULL DEFAULT 'bot',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastMessageAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lowConfidenceStreak" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "Conversation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Message" (
    "id" UUID NOT NULL,
    "conversationId" UUID NOT NULL,
    "role" "MessageRole" NOT NULL,
    "text" TEXT NOT NULL,
    "clientMessageId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "replyToId" UUID,
    "replyStatus" "ReplyStatus",
    "modelVersion" TEXT,
    "timeToFirstTokenMs" INTEGER,
    "tokenCount" INTEGER,
    "generationMs" INTEGER,
    "intent" TEXT,
    "intentProbability" DOUBLE PRECISION,
    "runnerUpIntent" TEXT,
    "runnerUpProbability" DOUBLE PRECISION,
    "classifierVersion" TEXT,

    CONSTRAINT "Message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IntentLabel" (
    "id" UUID NOT NULL,
    "messageId" UUID NOT NULL,
    "intent" TEXT NOT NULL,
    "source" "LabelSource" NOT NULL,
    "labeledBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IntentLabel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingExample" (
    "id" UUID NOT NULL,
    "text" TEXT NOT NULL,
    "textKey" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "source" "ExampleSource" NOT NULL,
    "importId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrainingExample_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KnowledgeArticle" (
    "intent" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KnowledgeArticle_pkey" PRIMARY KEY ("intent")
);

-- CreateTable
CREATE TABLE "ModelVersion" (
    "version" TEXT NOT NULL,
    "status" "ModelStatus" NOT NULL DEFAULT 'ready',
    "path" TEXT NOT NULL,
    "metrics" JSONB NOT NULL,
    "datasetSha256" TEXT NOT NULL,
    "failureReason" TEXT,
    "trainingRunId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("version")
);

-- CreateTable
CREATE TABLE "Deployment" (
    "id" UUID NOT NULL,
    "version" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "forced" BOOLEAN NOT NULL DEFAULT false,
    "reason" TEXT,
    "gate" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingRun" (
    "id" UUID NOT NULL,
    "status" "TrainingRunStatus" NOT NULL DEFAULT 'queued',
    "device" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "snapshotPath" TEXT NOT NULL,
    "snapshotSha256" TEXT NOT NULL,
    "progress" JSONB,
    "logs" TEXT NOT NULL DEFAULT '',
    "metrics" JSONB,
    "error" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "durationMs" INTEGER,

    CONSTRAINT "TrainingRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" UUID NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Conversation_customerId_lastMessageAt_idx" ON "Conversation"("customerId", "lastMessageAt");

-- CreateIndex
CREATE INDEX "Conversation_status_lastMessageAt_idx" ON "Conversation"("status", "lastMessageAt");

-- CreateIndex
CREATE INDEX "Message_conversationId_createdAt_idx" ON "Message"("conversationId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Message_conversationId_clientMessageId_key" ON "Message"("conversationId", "clientMessageId");

-- CreateIndex
CREATE INDEX "IntentLabel_messageId_createdAt_idx" ON "IntentLabel"("messageId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingExample_textKey_key" ON "TrainingExample"("textKey");

-- CreateIndex
CREATE INDEX "TrainingExample_label_idx" ON "TrainingExample"("label");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_trainingRunId_key" ON "ModelVersion"("trainingRunId");

-- CreateIndex
CREATE INDEX "Deployment_createdAt_idx" ON "Deployment"("createdAt");

-- CreateIndex
CREATE INDEX "AuditLog_createdAt_idx" ON "AuditLog"("createdAt");

-- AddForeignKey
ALTER TABLE "Conversation" ADD CONSTRAINT "Conversation_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "Conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "IntentLabel" ADD CONSTRAINT "IntentLabel_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_trainingRunId_fkey" FOREIGN KEY ("trainingRunId") REFERENCES "TrainingRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_version_fkey" FOREIGN KEY ("version") REFERENCES "ModelVersion"("version") ON DELETE RESTRICT ON UPDATE CASCADE;
