#!/bin/sh
# Honest test player: sends "<token> <name>" to the game logic on the port
# of its name (p<k> -> 7000+k), retrying until the game listens.
k=${JUDGER_PLAYER_NAME#p}
echo "player $JUDGER_PLAYER_NAME of AI $JUDGER_AI_INDEX" >&2
i=0
while [ $i -lt 100 ]; do
  if echo "$JUDGER_TOKEN $JUDGER_PLAYER_NAME" | nc -w 2 "$JUDGER_GAME_HOST" $((7000 + k)) 2>/dev/null; then
    echo "sent" >&2
    exit 0
  fi
  sleep 0.05
  i=$((i + 1))
done
echo "could not reach the game" >&2
exit 1
