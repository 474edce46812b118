-- Replies customers can trust: editable, versioned help-centre articles indexed by sentence, the
-- grounding record and the customer's feedback on each bot reply, and clarification clicks as labels.

-- AlterEnum
ALTER TYPE "LabelSource" ADD VALUE 'customer_clarification';

-- KnowledgeArticle: keyed by slug; the intent becomes an optional preference.
ALTER TABLE "KnowledgeArticle" ADD COLUMN "slug" TEXT,
ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN "retiredAt" TIMESTAMP(3);
UPDATE "KnowledgeArticle" SET "slug" = trim(BOTH '-' FROM regexp_replace(lower("title"), '[^a-z0-9]+', '-', 'g'));
ALTER TABLE "KnowledgeArticle" DROP CONSTRAINT "KnowledgeArticle_pkey",
ALTER COLUMN "slug" SET NOT NULL,
ALTER COLUMN "intent" DROP NOT NULL,
ADD CONSTRAINT "KnowledgeArticle_pkey" PRIMARY KEY ("slug");
CREATE INDEX "KnowledgeArticle_intent_idx" ON "KnowledgeArticle"("intent");

-- CreateTable
CREATE TABLE "KnowledgeArticleVersion" (
    "id" UUID NOT NULL,
    "articleSlug" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "intent" TEXT,
    "retired" BOOLEAN NOT NULL DEFAULT false,
    "editedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KnowledgeArticleVersion_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "KnowledgeArticleVersion_articleSlug_version_key" ON "KnowledgeArticleVersion"("articleSlug", "version");
ALTER TABLE "KnowledgeArticleVersion" ADD CONSTRAINT "KnowledgeArticleVersion_articleSlug_fkey" FOREIGN KEY ("articleSlug") REFERENCES "KnowledgeArticle"("slug") ON DELETE CASCADE ON UPDATE CASCADE;
INSERT INTO "KnowledgeArticleVersion" ("id", "articleSlug", "version", "title", "body", "intent", "editedBy")
SELECT gen_random_uuid(), "slug", 1, "title", "body", "intent", 'system' FROM "KnowledgeArticle";

-- CreateTable
CREATE TABLE "KnowledgeSentence" (
    "id" TEXT NOT NULL,
    "articleSlug" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "searchVector" tsvector GENERATED ALWAYS AS (to_tsvector('english', "text")) STORED,

    CONSTRAINT "KnowledgeSentence_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "KnowledgeSentence_articleSlug_idx" ON "KnowledgeSentence"("articleSlug");
CREATE INDEX "KnowledgeSentence_searchVector_idx" ON "KnowledgeSentence" USING GIN ("searchVector");
ALTER TABLE "KnowledgeSentence" ADD CONSTRAINT "KnowledgeSentence_articleSlug_fkey" FOREIGN KEY ("articleSlug") REFERENCES "KnowledgeArticle"("slug") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "Message" ADD COLUMN "grounding" JSONB,
ADD COLUMN "customerHelpful" BOOLEAN,
ADD COLUMN "customerFeedbackAt" TIMESTAMP(3);

-- The greeting, thanks, goodbye, complaint and out-of-scope "articles" were instructions to the
-- model, not help-centre content: those turns get fixed replies now (lib/chat/decide.ts).
DELETE FROM "KnowledgeArticle" WHERE "intent" IN ('greeting', 'thanks', 'goodbye', 'complaint', 'out_of_scope');
