/**
 * `@earshot/db/testing`: test support for every package's tests, one copy. A database with the
 * schema migrated (PostgreSQL or PGlite), an empty one for tests that open it their own way, the
 * stored tables read back in numbers, events loaded and finalized as production does, what they must hold computed offline with core, and a seeded
 * generator of awkward listen events. A separate export path: production code never loads it.
 */
export {
  createTestDatabase,
  type Driver,
  type OpenTestDbOptions,
  openTestDb,
  TEST_ADMIN_URL,
  type TestDatabase,
  type TestDb,
} from './database.js';
export { expectedTables } from './expected.js';
export { batches, type GenerateOptions, generateEvents, shuffle, withRepeats } from './generate.js';
export { DEFAULT_TEST_SETTINGS, loadAndFinalize } from './load.js';
export { emptyTables, readTables, sortTables, type Tables } from './tables.js';
