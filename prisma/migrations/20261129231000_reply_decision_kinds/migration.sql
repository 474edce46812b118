-- The decisions of the grounded-replies turn: small talk's fixed replies, a clarifying question, and
-- an in-scope question the help centre had nothing for.
ALTER TYPE "ReplyDecision" ADD VALUE 'small_talk';
ALTER TYPE "ReplyDecision" ADD VALUE 'clarify';
ALTER TYPE "ReplyDecision" ADD VALUE 'no_facts';
