import { describe, expect, it } from 'vitest';
import { parseIcecastTime, parseListClients, parseStats } from './admin.js';

// Recorded from Debian's icecast2 2.4.4 (GET /admin/listclients?mount=/live.mp3 and /admin/stats).
const LISTCLIENTS = `<?xml version="1.0"?>
<icestats><source mount="/live.mp3"><Listeners>2</Listeners><listener><IP>127.0.0.1</IP><UserAgent>Lavf/59.27.100</UserAgent><Connected>2</Connected><ID>2</ID></listener><listener><IP>::1</IP><UserAgent>Unknown</UserAgent><Connected>75</Connected><ID>9</ID></listener></source></icestats>
`;
const STATS = `<?xml version="1.0"?>
<icestats><admin>test@localhost</admin><host>127.0.0.1</host><listeners>1</listeners><server_id>Icecast 2.4.4</server_id><server_start>Thu, 03 Dec 2026 06:16:10 +0000</server_start><server_start_iso8601>2026-12-03T06:16:10+0000</server_start_iso8601><source mount="/live.mp3"><audio_info>channels=2;samplerate=44100;bitrate=128</audio_info><listeners>1</listeners><listenurl>http://127.0.0.1:18123/live.mp3</listenurl><server_type>audio/mpeg</server_type><stream_start_iso8601>2026-12-03T06:16:15+0000</stream_start_iso8601><total_bytes_read>80000</total_bytes_read><user_agent>Lavf/59.27.100</user_agent></source></icestats>
`;

describe('Icecast admin XML', () => {
  it('reads listclients: id, IP, user agent, seconds connected', () => {
    const parsed = parseListClients(LISTCLIENTS);
    expect(parsed).toEqual({
      ok: true,
      value: {
        mount: '/live.mp3',
        listeners: [
          { id: '2', ip: '127.0.0.1', ua: 'Lavf/59.27.100', connectedS: 2 },
          { id: '9', ip: '::1', ua: undefined, connectedS: 75 },
        ],
      },
    });
  });

  it('reads the server start and each source', () => {
    const parsed = parseStats(STATS);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.serverStartS).toBe(Date.UTC(2026, 11, 3, 6, 16, 10) / 1000);
    expect(parsed.value.mounts.get('/live.mp3')).toEqual({
      listeners: 1,
      bitrateKbps: 128,
      totalBytesRead: 80_000,
      streamStartS: Date.UTC(2026, 11, 3, 6, 16, 15) / 1000,
    });
  });

  it('refuses what is not an icestats document', () => {
    expect(parseStats('<html><body>401</body></html>').ok).toBe(false);
    expect(parseListClients('<icestats><source mount="/a">').ok).toBe(false);
  });

  it('reads both of Icecast time formats', () => {
    expect(parseIcecastTime('Thu, 03 Dec 2026 06:16:10 +0000')).toBe(
      parseIcecastTime('2026-12-03T06:16:10+0000'),
    );
    expect(parseIcecastTime('2026-12-03T07:16:10+0100')).toBe(Date.UTC(2026, 11, 3, 6, 16, 10) / 1000);
  });
});
