#!/usr/bin/env bash
# Makes the demo station's audio once; the files are committed, so the station and its tests need
# no encoder. Needs ffmpeg (apt-get install -y ffmpeg).
#
# One 18 s programme of three 6 s tones (A4, C#5, E5, pulsing once a second), encoded as:
#   audio/stream.mp3              MP3, 64 kbit/s CBR, 48 kHz mono (192-byte frames of 24 ms),
#                                 no ID3 tag or Xing frame, so it loops frame by frame
#   audio/hls/32k/, audio/hls/64k/ AAC-LC in MPEG-TS, 32 and 64 kbit/s, 48 kHz mono, 6 s segments,
#                                 with the packager's playlist (the station reads the EXTINF durations)
set -euo pipefail
cd "$(dirname "$0")/.."

duration_s=18
tone="0.25*(0.65+0.35*cos(2*PI*t))*sin(2*PI*t*if(lt(t,6),440,if(lt(t,12),554.37,659.25)))"
source=(-f lavfi -i "aevalsrc='${tone}':s=48000:d=${duration_s}")

rm -rf audio
mkdir -p audio/hls/32k audio/hls/64k

ffmpeg -nostdin -hide_banner -loglevel error "${source[@]}" \
  -ac 1 -ar 48000 -c:a libmp3lame -b:a 64k -id3v2_version 0 -write_xing 0 \
  -f mp3 audio/stream.mp3

# AAC frames are 1024 samples and the encoder adds one frame of priming: 843 frames of source make
# 844 frames (18.005 s) in three segments of 282, 281 and 281 frames, with no stub fourth segment
# (17.984 s = 843 x 1024 / 48000).
for kbps in 32 64; do
  ffmpeg -nostdin -hide_banner -loglevel error -t 17.984 "${source[@]}" \
    -ac 1 -ar 48000 -c:a aac -b:a "${kbps}k" \
    -f hls -hls_time 6 -hls_playlist_type vod -hls_flags independent_segments \
    -hls_segment_filename "audio/hls/${kbps}k/seg-%d.ts" "audio/hls/${kbps}k/index.m3u8"
done

du -ab audio | sort -k2
