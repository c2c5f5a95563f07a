import type { ListenEvent } from '@earshot/core';
import type { Db } from '../client.js';
import { insertEvents } from '../events.js';
import { finalizeSessions } from '../finalize/index.js';

/** Default session settings (DESIGN section 8). */
export const DEFAULT_TEST_SETTINGS = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };

/**
 * Loads events the way production does (ingest's insertEvents in batches), then finalizes every
 * session id with the worker's finalizeSessions (forced: no waiting `idle`).
 */
export async function loadAndFinalize(
  db: Db,
  events: readonly ListenEvent[],
  settings = DEFAULT_TEST_SETTINGS,
): Promise<void> {
  const ids = new Set<string>();
  for (let i = 0; i < events.length; i += 2000) {
    const result = await insertEvents(db, events.slice(i, i + 2000), { idleS: settings.idleS });
    for (const id of result.sessions) ids.add(id);
  }
  const all = [...ids].sort();
  for (let i = 0; i < all.length; i += 500) {
    await finalizeSessions(db, all.slice(i, i + 500), settings, { force: true });
  }
}
