#!/bin/sh
# Game logic of the deployment test (tests/deploy/two_hosts.sh), busybox sh.
# Starts player p0 (AI 0, tests/judger/programs/honest), which sends
# "<token> p0" to game:7000 over its own network; then reports progress once
# per second for config.turns seconds (the window in which the test kills a
# host), and ends with AI 0 scoring 1 when the token was the right one.
cfg=/judger/match.json
turns=$(sed -n 's/.*"turns": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
turns=${turns:-0}
token=$(grep -o '"token": *"[0-9a-f]*"' $cfg | head -n 1 | sed 's/.*"\([0-9a-f]*\)"$/\1/')
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
# A stdin that stays open: at EOF busybox nc would half-close too early.
sleep 60 | nc -l -p 7000 -w 20 > /tmp/in0 &
echo '{"cmd":"start","name":"p0","ai":0}' >&4
while read -r ev <&3; do
  case "$ev" in *'"exited"'*|*'"cancelled"'*) break ;; esac
done
score=0
[ "$(cut -d' ' -f1 /tmp/in0 2>/dev/null)" = "$token" ] && score=1
t=0
while [ "$t" -lt "$turns" ]; do
  t=$((t + 1))
  echo "{\"cmd\":\"progress\",\"turn\":$t,\"turns\":$turns}" >&4
  echo "turn $t" >> /judger/out/replay.txt
  sleep 1
done
echo "score $score" >> /judger/out/replay.txt
echo "{\"cmd\":\"end\",\"scores\":[$score]}" >&4
