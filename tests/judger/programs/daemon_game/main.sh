#!/bin/sh
# Game logic of the daemon tests (busybox sh): reports progress once per
# second for config.turns seconds, then ends the match with AI 0 scoring 7.
cfg=/judger/match.json
turns=$(sed -n 's/.*"turns": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
turns=${turns:-0}
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
echo "daemon game: $turns turns"
t=0
while [ "$t" -lt "$turns" ]; do
  t=$((t + 1))
  echo "{\"cmd\":\"progress\",\"turn\":$t,\"turns\":$turns}" >&4
  echo "turn $t" >> /judger/out/replay.txt
  sleep 1
done
echo "final" >> /judger/out/replay.txt
echo '{"cmd":"end","scores":[7]}' >&4
