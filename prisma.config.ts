import { defineConfig } from "prisma/config";

// `env("DATABASE_URL")` would make even `prisma generate` fail when the variable is unset.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
