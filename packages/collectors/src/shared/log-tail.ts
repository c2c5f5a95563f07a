import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Where a tailer stopped in a log file: the file's inode and the byte offset after the last whole line read. */
export interface LogPosition {
  inode: number;
  offset: number;
}

/** One whole line read from a log (without its line break). */
export interface LogLine {
  text: string;
  /** Inode of the file it was read from and the byte offset where it starts. */
  inode: number;
  offset: number;
}

export interface ReadLinesOptions {
  /** Without a position: start at the file's current end (`end`, the default) or at its start. */
  from?: 'end' | 'start';
  /** Most bytes read per call, so a huge backlog is taken in slices. Default 8 MiB. */
  maxBytes?: number;
}

/**
 * Reads the whole lines appended to `path` since `position`. Follows rotation: when `path` is now
 * another file (a new inode), the rest of the old file is read first if it is still in the same
 * directory under another name (`access.log.1`, `access.log.20261203_0616`), then the new file from
 * its start; a file shorter than the position (truncated in place) is read from its start. A last
 * line without its line break is left for the next call. A missing file reads as no lines.
 */
export async function readNewLines(
  path: string,
  position: LogPosition | undefined,
  options: ReadLinesOptions = {},
): Promise<{ lines: LogLine[]; position: LogPosition | undefined }> {
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  let current: Awaited<ReturnType<typeof stat>>;
  try {
    current = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], position };
    throw error;
  }
  const inode = Number(current.ino);
  if (position === undefined) {
    const offset = options.from === 'start' ? 0 : Number(current.size);
    position = { inode, offset };
  }
  const lines: LogLine[] = [];
  if (position.inode !== inode) {
    const old = await findByInode(dirname(path), basename(path), position.inode);
    if (old) {
      const rest = await readSlice(old, position, maxBytes);
      lines.push(...rest.lines);
      // Not done with the old file yet: come back for the rest of it.
      if (!rest.atEnd) return { lines, position: rest.position };
    }
    position = { inode, offset: 0 };
  } else if (Number(current.size) < position.offset) {
    position = { inode, offset: 0 };
  }
  const fresh = await readSlice(path, position, maxBytes);
  lines.push(...fresh.lines);
  return { lines, position: fresh.position };
}

async function findByInode(dir: string, name: string, inode: number): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const candidate of names) {
    if (candidate === name || !candidate.startsWith(name)) continue;
    const full = join(dir, candidate);
    try {
      if (Number((await stat(full)).ino) === inode) return full;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

async function readSlice(
  path: string,
  position: LogPosition,
  maxBytes: number,
): Promise<{ lines: LogLine[]; position: LogPosition; atEnd: boolean }> {
  const handle = await open(path, 'r');
  try {
    const size = Number((await handle.stat()).size);
    const length = Math.min(maxBytes, Math.max(0, size - position.offset));
    if (length === 0) return { lines: [], position, atEnd: true };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position.offset);
    const lines: LogLine[] = [];
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf(10, start);
      if (nl === -1 || nl >= bytesRead) break;
      const end = nl > start && buffer[nl - 1] === 13 ? nl - 1 : nl;
      lines.push({
        text: buffer.toString('utf8', start, end),
        inode: position.inode,
        offset: position.offset + start,
      });
      start = nl + 1;
    }
    const offset = position.offset + start;
    return { lines, position: { inode: position.inode, offset }, atEnd: offset >= size };
  } finally {
    await handle.close();
  }
}
