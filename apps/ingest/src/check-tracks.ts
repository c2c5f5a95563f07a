import { type BatchIssue, parseTrack, type TrackEvent } from '@earshot/core';

/**
 * Validates a batch of track events whole (DESIGN sections 6 and 9): core's `parseTrack` on each,
 * and no `time` more than `maxAheadMs` after now (a sender's clock far ahead). Track events have no
 * age limit: they are not kept per day, and a late correction of an old play is welcome. Either
 * every track is valid, or every issue is listed with its index and nothing may be written.
 */
export function checkTracks(
  items: readonly unknown[],
  limits: { maxAheadMs: number; now: () => number },
): { tracks: TrackEvent[]; issues: BatchIssue[] } {
  const tracks: TrackEvent[] = [];
  const issues: BatchIssue[] = [];
  const now = limits.now();
  for (let index = 0; index < items.length; index++) {
    const result = parseTrack(items[index]);
    if (!result.ok) {
      for (const issue of result.issues) issues.push({ index, ...issue });
      continue;
    }
    if (result.track.time > now + limits.maxAheadMs) {
      issues.push({
        index,
        field: 'time',
        reason: `is more than ${limits.maxAheadMs / 1000} s in the future (check the sender's clock)`,
      });
      continue;
    }
    tracks.push(result.track);
  }
  return { tracks, issues };
}
