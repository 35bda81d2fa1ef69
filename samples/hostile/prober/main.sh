#!/bin/sh
# Probes another match: waits for /app/target (an address on another match's
# network, written by the test), sends INTRUDER to it on port 7100, then to
# its own game on 7100 (the control: must arrive), then plays honestly.
# Prints BLOCKED:other or ESCAPED:other.
k=${JUDGER_PLAYER_NAME#p}
i=0
while [ ! -s /app/target ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
target=$(cat /app/target 2>/dev/null)
if [ -n "$target" ] && echo "INTRUDER" | nc -w 1 "$target" 7100 2>/dev/null; then
  echo "ESCAPED:other $target"
else
  echo "BLOCKED:other $target"
fi
i=0
until echo "OWN" | nc -w 1 "$JUDGER_GAME_HOST" 7100 2>/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
i=0
until echo "$JUDGER_TOKEN $JUDGER_PLAYER_NAME" | nc -w 2 "$JUDGER_GAME_HOST" $((7000 + k)) 2>/dev/null || [ $i -ge 100 ]; do
  sleep 0.05; i=$((i + 1))
done
exit 0
