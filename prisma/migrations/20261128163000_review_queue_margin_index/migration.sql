-- The staff review queue: unreviewed customer messages ranked by how unsure the classifier was
-- (the gap between its top two intents, smallest first), keyset-paged on (margin, id).
-- An expression index on the partial set of rows the queue reads; Prisma's schema cannot express it,
-- so it lives here only (lib/db/inbox.ts uses this very expression and predicate).
CREATE INDEX "Message_review_margin_idx" ON "Message" (("intentProbability" - COALESCE("runnerUpProbability", 0)), "id")
  WHERE "role" = 'customer' AND NOT "reviewed" AND "intentProbability" IS NOT NULL;
