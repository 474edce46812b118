-- Staff who may only edit the help-centre knowledge base.

-- AlterEnum
ALTER TYPE "StaffRole" ADD VALUE 'editor';
