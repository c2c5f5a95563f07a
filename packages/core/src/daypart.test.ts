import { describe, expect, it } from 'vitest';
import { DEFAULT_DAYPARTS, inDaypart, parseDaypart, resolveDaypart } from './daypart.js';

describe('dayparts', () => {
  it('parses ranges, lists and wrap-around weekdays into a canonical spec', () => {
    const amDrive = parseDaypart('Mon-Fri 06:00-10:00');
    expect(amDrive).toEqual({
      ok: true,
      daypart: {
        name: 'Mon-Fri 06:00-10:00',
        spec: 'Mon-Fri 06:00-10:00',
        weekdays: [1, 2, 3, 4, 5],
        startMin: 360,
        endMin: 600,
      },
    });
    const weekend = parseDaypart('sat,Sunday 10:00-15:00');
    expect(weekend.ok && weekend.daypart.spec).toBe('Sat-Sun 10:00-15:00');
    const wrap = parseDaypart('Fri-Mon 0:00-24:00');
    expect(wrap.ok && wrap.daypart.weekdays).toEqual([1, 5, 6, 7]);
  });

  it('refuses bad specs with a reason', () => {
    for (const bad of ['Mon-Fri', 'Funday 06:00-10:00', 'Mon 10:00-06:00', 'Mon 06:00-24:30', 'Mon 6-10']) {
      const result = parseDaypart(bad);
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.reason.length).toBeGreaterThan(10);
    }
  });

  it('resolves the standard dayparts by name', () => {
    expect(DEFAULT_DAYPARTS.map((d) => d.spec)).toEqual([
      'Mon-Sun 06:00-24:00',
      'Mon-Fri 06:00-10:00',
      'Mon-Fri 10:00-15:00',
      'Mon-Fri 15:00-19:00',
      'Mon-Fri 19:00-24:00',
      'Mon-Sun 00:00-06:00',
    ]);
    const pm = resolveDaypart('pm drive');
    expect(pm.ok && pm.daypart.spec).toBe('Mon-Fri 15:00-19:00');
    const unknown = resolveDaypart('lunch');
    expect(!unknown.ok && unknown.reason).toContain('AM drive');
  });

  it('holds a start time at its start and not at its end', () => {
    const p = parseDaypart('Mon-Fri 06:00-10:00');
    if (!p.ok) throw new Error(p.reason);
    expect(inDaypart({ weekday: 1, minuteOfDay: 360 }, p.daypart)).toBe(true);
    expect(inDaypart({ weekday: 1, minuteOfDay: 600 }, p.daypart)).toBe(false);
    expect(inDaypart({ weekday: 6, minuteOfDay: 400 }, p.daypart)).toBe(false);
  });
});
