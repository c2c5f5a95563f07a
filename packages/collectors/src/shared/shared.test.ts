import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deterministicId } from './deterministic-id.js';
import { readNewLines } from './log-tail.js';
import { readStateFile, writeStateFile } from './state-file.js';
import { parseMountKey, streamKeyOf } from './stream-key.js';
import { parseXml } from './xml.js';

describe('shared collector helpers', () => {
  it('derives stream keys from mounts and reads MOUNT[=KEY]', () => {
    expect(streamKeyOf('/live.mp3')).toBe('live-mp3');
    expect(streamKeyOf('/hls/Live_64k/')).toBe('hls-live-64k');
    expect(streamKeyOf('/')).toBeUndefined();
    expect(parseMountKey('/live.mp3')).toEqual({
      ok: true,
      value: { mount: '/live.mp3', stream: 'live-mp3' },
    });
    expect(parseMountKey('/a.aac=station-aac')).toEqual({
      ok: true,
      value: { mount: '/a.aac', stream: 'station-aac' },
    });
    expect(parseMountKey('/a.aac=has space').ok).toBe(false);
  });

  it('makes UUID-shaped ids that depend only on their parts', () => {
    const id = deterministicId('icecast', 'radio', 17, 'close');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicId('icecast', 'radio', 17, 'close')).toBe(id);
    expect(deterministicId('icecast', 'radio', 17, 'tick')).not.toBe(id);
    // Parts are separated, not concatenated.
    expect(deterministicId('ab', 'c')).not.toBe(deterministicId('a', 'bc'));
  });

  it('reads XML elements, attributes and entities', () => {
    const parsed = parseXml(
      '<?xml version="1.0"?><a x="1 &amp; 2"><b>A &lt;b&gt; &#233;</b><c/><!-- n --><d><![CDATA[<raw>]]></d></a>',
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.root.attributes.x).toBe('1 & 2');
    expect(parsed.root.children.map((c) => [c.name, c.text])).toEqual([
      ['b', 'A <b> é'],
      ['c', ''],
      ['d', '<raw>'],
    ]);
    expect(parseXml('<a><b></a>').ok).toBe(false);
  });

  it('writes state atomically and reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-state-'));
    try {
      expect(await readStateFile(join(dir, 's.json'))).toBeUndefined();
      await writeStateFile(join(dir, 'sub', 's.json'), { a: 1 });
      expect(await readStateFile(join(dir, 'sub', 's.json'))).toEqual({ a: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tails a log: whole lines only, from the end by default, through a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-tail-'));
    const path = join(dir, 'access.log');
    try {
      writeFileSync(path, 'old 1\nold 2\n');
      let r = await readNewLines(path, undefined);
      expect(r.lines).toEqual([]);
      appendFileSync(path, 'new 1\nnew 2\npart');
      r = await readNewLines(path, r.position);
      expect(r.lines.map((l) => l.text)).toEqual(['new 1', 'new 2']);
      appendFileSync(path, 'ial\nlast of the old file\n');
      renameSync(path, `${path}.1`);
      writeFileSync(path, 'first of the new file\n');
      r = await readNewLines(path, r.position);
      expect(r.lines.map((l) => l.text)).toEqual([
        'partial',
        'last of the old file',
        'first of the new file',
      ]);
      const again = await readNewLines(path, undefined, { from: 'start' });
      expect(again.lines.map((l) => [l.text, l.offset])).toEqual([['first of the new file', 0]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
