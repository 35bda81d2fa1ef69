#!/bin/sh
# Two players of one match: p0 listens on 7200 for its opponent; p1 tries
# to reach p0 by its name and by its address (/app/target, written by the
# test from p0's container), prints BLOCKED:<how> or ESCAPED:<how>, then
# both play honestly with the game (the control: the game is reachable).
k=${JUDGER_PLAYER_NAME#p}
if [ "$k" = 0 ]; then
  sleep 30 | nc -l -p 7200 > /tmp/got &
else
  i=0
  while [ ! -s /app/target ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  target=$(cat /app/target 2>/dev/null)
  # A few tries each: p0's "started" (a warm start's go) can come a moment
  # before its listener is up, and a refused try then is not isolation.
  for how in alias address; do
    [ $how = alias ] && dest=p0 || dest=$target
    verdict=BLOCKED
    for try in 1 2 3 4; do
      if [ -n "$dest" ] && echo "PEER" | nc -w 1 "$dest" 7200 2>/dev/null; then
        verdict=ESCAPED
        break
      fi
      sleep 0.25
    done
    echo "$verdict:$how $dest"
  done
fi
i=0
until echo "$JUDGER_TOKEN $JUDGER_PLAYER_NAME" | nc -w 2 "$JUDGER_GAME_HOST" $((7000 + k)) 2>/dev/null || [ $i -ge 100 ]; do
  sleep 0.05; i=$((i + 1))
done
if [ "$k" = 0 ]; then
  # Up to 5 s for the opponent's probe (it comes within ~1 s when it can).
  i=0
  while [ ! -s /tmp/got ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  echo "GOT:$(cat /tmp/got)"
fi
exit 0
