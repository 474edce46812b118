// Database migrations without the Prisma CLI's native engine (see scripts/migrations.ts).
//   tsx scripts/migrate.ts [deploy]        apply the pending migrations of prisma/migrations to DATABASE_URL,
//                                          or without it to the embedded PGlite database in
//                                          ${LOOPDESK_DATA_DIR:-./data}/pglite
//   tsx scripts/migrate.ts create <name>   development, like `prisma migrate dev --create-only`: apply the
//                                          pending migrations to DATABASE_URL, then write
//                                          prisma/migrations/<timestamp>_<name> for what schema.prisma adds.
//                                          Shadow databases are created and dropped on the same server, or
//                                          SHADOW_DATABASE_URL names one to wipe and reuse.
//   tsx scripts/migrate.ts status          list the migrations: applied, pending, failed, edited or missing
// Failures print one line and exit 1; DEBUG=1 prints the whole error and the engine's logs.
import { createMigration, migrateDatabase, migrationStatus, type MigrateOptions } from "./migrations";

const USAGE = "usage: tsx scripts/migrate.ts [deploy | create <name> | status]";

const options: MigrateOptions = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  dataDir: process.env.LOOPDESK_DATA_DIR || undefined,
};

async function main(args: string[]): Promise<void> {
  const [command = "deploy", ...rest] = args;
  if (command === "deploy" && rest.length === 0) {
    const applied = await migrateDatabase(options);
    for (const name of applied) console.log(`applied ${name}`);
    if (applied.length === 0) console.log("database is up to date");
  } else if (command === "create" && rest.length === 1) {
    if (!options.databaseUrl) {
      throw new Error(
        "create needs DATABASE_URL pointing at a PostgreSQL development database (its server hosts the shadow database)",
      );
    }
    const { applied, created } = await createMigration({
      name: rest[0]!,
      databaseUrl: options.databaseUrl,
      shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL || undefined,
    });
    for (const name of applied) console.log(`applied ${name}`);
    console.log(created ? `created prisma/migrations/${created}/migration.sql` : "no schema changes: nothing to create");
  } else if (command === "status" && rest.length === 0) {
    const statuses = await migrationStatus(options);
    for (const { name, state } of statuses) console.log(`${state.padEnd(8)} ${name}`);
    if (statuses.length === 0) console.log("no migrations");
  } else {
    throw new Error(USAGE);
  }
}

try {
  await main(process.argv.slice(2));
  // The schema engine leaves timers behind that would keep the process alive for a minute.
  process.exit(0);
} catch (error) {
  console.error(process.env.DEBUG ? error : `migrate: ${oneLine(error)}`);
  process.exit(1);
}

function oneLine(error: unknown): string {
  // Node reports a refused connection to a name with several addresses as an AggregateError without message.
  if (error instanceof AggregateError && !error.message) return oneLine(error.errors[0]);
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ");
}
