#!/usr/bin/env node
import { main } from './service.js';

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
