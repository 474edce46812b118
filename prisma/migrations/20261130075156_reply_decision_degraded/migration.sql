-- AlterEnum
ALTER TYPE "ReplyDecision" ADD VALUE 'answer_degraded';
