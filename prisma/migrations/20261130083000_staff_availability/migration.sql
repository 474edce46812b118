-- CreateEnum
CREATE TYPE "StaffAvailability" AS ENUM ('online', 'away');

-- AlterTable
ALTER TABLE "StaffUser" ADD COLUMN     "availability" "StaffAvailability" NOT NULL DEFAULT 'away',
ADD COLUMN     "lastAssignedAt" TIMESTAMP(3);
