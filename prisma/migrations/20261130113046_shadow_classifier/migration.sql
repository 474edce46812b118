-- CreateTable
CREATE TABLE "ShadowDeployment" (
    "id" UUID NOT NULL,
    "version" TEXT,
    "actor" TEXT NOT NULL,
    "reason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ShadowDeployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ShadowPrediction" (
    "id" UUID NOT NULL,
    "messageId" UUID NOT NULL,
    "shadowVersion" TEXT NOT NULL,
    "shadowIntent" TEXT NOT NULL,
    "shadowProbability" DOUBLE PRECISION NOT NULL,
    "productionVersion" TEXT NOT NULL,
    "productionIntent" TEXT NOT NULL,
    "productionProbability" DOUBLE PRECISION NOT NULL,
    "agrees" BOOLEAN NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ShadowPrediction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ShadowDeployment_createdAt_idx" ON "ShadowDeployment"("createdAt");

-- CreateIndex
CREATE INDEX "ShadowPrediction_shadowVersion_agrees_createdAt_idx" ON "ShadowPrediction"("shadowVersion", "agrees", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "ShadowPrediction_messageId_shadowVersion_key" ON "ShadowPrediction"("messageId", "shadowVersion");

-- AddForeignKey
ALTER TABLE "ShadowDeployment" ADD CONSTRAINT "ShadowDeployment_version_fkey" FOREIGN KEY ("version") REFERENCES "ModelVersion"("version") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ShadowPrediction" ADD CONSTRAINT "ShadowPrediction_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;
