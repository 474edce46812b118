-- CreateEnum
CREATE TYPE "ReplyDecision" AS ENUM ('answer', 'offer_human_out_of_scope', 'offer_human_low_confidence', 'handoff_asked_for_human', 'handoff_low_confidence');

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "decision" "ReplyDecision";

-- Backfill: replies stored before this column carry their decision in their text (the fixed
-- template replies of lib/chat/decide.ts) or, written by the language model, were answers.
UPDATE "Message" SET "decision" = CASE "text"
    WHEN 'Sorry, I can only help with Northwind Goods orders, products, shipping, returns, payments and accounts. If you''d like, I can connect you with a member of our team: just say "talk to a human".' THEN 'offer_human_out_of_scope'
    WHEN 'Sorry, I''m not sure I understood. Could you rephrase that? If you prefer, I can connect you with a member of our team: just say "talk to a human".' THEN 'offer_human_low_confidence'
    WHEN 'Of course. I''m connecting you with a member of our support team now; they will join this chat shortly (Mon-Fri 8:00-20:00 CET). Please stay on this page.' THEN 'handoff_asked_for_human'
    WHEN 'I''m sorry I couldn''t help with that. I''m passing this chat to a member of our support team, who will join shortly.' THEN 'handoff_low_confidence'
  END::"ReplyDecision"
WHERE "role" = 'bot' AND "modelVersion" = 'template';
UPDATE "Message" SET "decision" = 'answer' WHERE "role" = 'bot' AND "modelVersion" <> 'template';
