import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Reads a collector's JSON state file; `undefined` when it does not exist yet. A file that is not
 * JSON throws: a collector must not silently start over (and send everything again under new
 * positions) because its state was damaged.
 */
export async function readStateFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
}

/**
 * Writes a collector's JSON state atomically: to `PATH.tmp`, fsynced, then renamed over `PATH`, so
 * a crash (kill -9, power loss) leaves either the old state or the new one, never half of one.
 */
export async function writeStateFile(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(value)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}
