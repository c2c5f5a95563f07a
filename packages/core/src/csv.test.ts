import { describe, expect, it } from 'vitest';
import { csvField, reportCsv } from './csv.js';
import { buildReport } from './report.js';

describe('csvField', () => {
  it('quotes only what RFC 4180 needs quoted and doubles quotes', () => {
    expect(csvField('main')).toBe('main');
    expect(csvField(1.5)).toBe('1.5');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });

  it('prefixes a quote to text a spreadsheet would run as a formula, never to numbers', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
    expect(csvField('=1,2')).toBe(`"'=1,2"`);
    // Only a leading character matters, and numbers (negative ones too) stay numbers.
    expect(csvField('a=b')).toBe('a=b');
    expect(csvField("'quoted")).toBe("'quoted");
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(-0)).toBe('0');
    expect(csvField(0)).toBe('0');
  });
});

describe('reportCsv', () => {
  it('writes a part with its section 7 columns, unrounded, null listener empty', () => {
    const t = Date.UTC(2026, 10, 2, 7, 0);
    const events = Array.from({ length: 3 }, (_, i) => ({
      id: `e${i}`,
      session: 's,1',
      stream: 'main',
      output: 'shoutcast' as const,
      time: t + (i + 1) * 30_000,
      duration: 30,
      bytes: 100,
    }));
    const report = buildReport(events);
    expect(reportCsv(report, 'sessions')).toBe(
      'session,stream,start,end,elapsed,duration,bytes,listener,output,class,country,device,os,player\n"s,1",main,2026-11-02T07:00:00.000Z,2026-11-02T07:01:30.000Z,90,90,300,,shoutcast,human,,unknown,unknown,unknown\n',
    );
    expect(reportCsv(report, 'summary').split('\n')[0]).toBe(
      'stream,quarterHours,aqh,aas,tlh,cume,activeSessions,sessionStarts,atsl,tsl,tslNielsen,excludedBot,excludedRelay,excludedMonitor,leftRunning',
    );
    expect(reportCsv(report, 'minutes').split('\n').slice(1, 3)).toEqual([
      'main,2026-11-02T07:00:00.000Z,1,1',
      'main,2026-11-02T07:01:00.000Z,0.5,1',
    ]);
  });

  it('neutralizes client-supplied session, stream and listener keys that look like formulas', () => {
    const t = Date.UTC(2026, 10, 2, 7, 0);
    const events = Array.from({ length: 3 }, (_, i) => ({
      id: `e${i}`,
      session: '=cmd|"/c calc"!A1',
      stream: '+main',
      output: 'shoutcast' as const,
      time: t + (i + 1) * 30_000,
      duration: 30,
      bytes: 100,
      listener: '@evil',
    }));
    const report = buildReport(events);
    expect(reportCsv(report, 'sessions').split('\n')[1]).toBe(
      `"'=cmd|""/c calc""!A1",'+main,2026-11-02T07:00:00.000Z,2026-11-02T07:01:30.000Z,90,90,300,'@evil,shoutcast,human,,unknown,unknown,unknown`,
    );
    expect(reportCsv(report, 'minutes').split('\n')[1]).toBe("'+main,2026-11-02T07:00:00.000Z,1,1");
  });
});
