import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @earshot/db generate` writes a new migration from src/schema.ts. Review it by hand:
// listen_events must stay PARTITION BY RANGE (time) (see drizzle/0000_*.sql).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
});
