#!/bin/sh
# Game logic of the live entry cap test (tests/judger/daemon/live_daemon.c,
# busybox sh): config.rounds rounds of a progress line of about 57 KiB
# (escaped and raw control bytes) and a frame of about 7.9 KiB (under the
# default frame_max_bytes), then replay.json and the end of the match (AI 0
# scores 1). The player is never started.
cfg=/judger/match.json
n=$(sed -n 's/.*"rounds": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
n=${n:-0}
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
raw=$(printf '\001\033\177')
s='\u001b[2J'"$raw"'ab'
k=0
while [ "$k" -lt 12 ]; do
  s="$s$s"
  k=$((k + 1))
done
pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
pad="$pad$pad$pad$pad$pad$pad$pad$pad$pad$pad$pad"
pad="$pad$pad$pad$pad$pad$pad$pad$pad$pad$pad"
i=0
while [ "$i" -lt "$n" ]; do
  i=$((i + 1))
  printf '{"cmd":"progress","round":%d,"blob":"%s"}\n' "$i" "$s" >&4
  printf '{"cmd":"frame","data":{"turn":%d,"pad":"%s"}}\n' "$i" "$pad" >&4
done
echo "{\"rounds\":$n}" > /judger/out/replay.json
echo '{"cmd":"end","scores":[1]}' >&4
