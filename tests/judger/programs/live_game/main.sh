#!/bin/sh
# Game logic of the live stream tests (tests/judger/daemon/live_daemon.c,
# busybox sh): config.frames frames {"turn": i}, one every config.pause_ms
# ms, then replay.json ({"frames": N}) and the end of the match (AI 0
# scores 1). The player is never started.
cfg=/judger/match.json
n=$(sed -n 's/.*"frames": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
ms=$(sed -n 's/.*"pause_ms": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
n=${n:-0}
ms=${ms:-0}
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
i=0
while [ "$i" -lt "$n" ]; do
  i=$((i + 1))
  echo "{\"cmd\":\"frame\",\"data\":{\"turn\":$i}}" >&4
  [ "$ms" -gt 0 ] && usleep $((ms * 1000))
done
echo "{\"frames\":$n}" > /judger/out/replay.json
echo '{"cmd":"end","scores":[1]}' >&4
