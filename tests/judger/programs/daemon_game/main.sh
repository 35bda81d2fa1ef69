#!/bin/sh
# Game logic of the daemon tests (busybox sh): reports progress once per
# second for config.turns seconds, then ends the match with AI 0 scoring 7.
# With config.player (the deployment test, tests/deploy/two_hosts.sh) it
# first starts player p0 of AI 0 (tests/judger/programs/honest), which sends
# "<token> p0" to game:7000 over its own network, and AI 0 scores 7 only
# when that token is its own.
cfg=/judger/match.json
turns=$(sed -n 's/.*"turns": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
turns=${turns:-0}
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
echo "daemon game: $turns turns"
score=7
if grep -q '"player": *true' $cfg; then
  token=$(grep -o '"token": *"[0-9a-f]*"' $cfg | head -n 1 | sed 's/.*"\([0-9a-f]*\)"$/\1/')
  # A stdin that stays open: at EOF busybox nc would half-close too early.
  sleep 60 | nc -l -p 7000 -w 20 > /tmp/in0 &
  echo '{"cmd":"start","name":"p0","ai":0}' >&4
  while read -r ev <&3; do
    case "$ev" in *'"exited"'*|*'"cancelled"'*) break ;; esac
  done
  [ "$(cut -d' ' -f1 /tmp/in0 2>/dev/null)" = "$token" ] || score=0
fi
t=0
while [ "$t" -lt "$turns" ]; do
  t=$((t + 1))
  echo "{\"cmd\":\"progress\",\"turn\":$t,\"turns\":$turns}" >&4
  echo "turn $t" >> /judger/out/replay.txt
  sleep 1
done
echo "final" >> /judger/out/replay.txt
echo "{\"cmd\":\"end\",\"scores\":[$score]}" >&4
