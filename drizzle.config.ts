import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate` writes a new SQL migration into core/db/migrations from the schema. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './core/db/schema/index.ts',
  out: './core/db/migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/fti' },
});
