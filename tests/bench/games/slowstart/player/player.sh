#!/bin/bash
# The slowstart game's trivial player (tests/bench/games/slowstart): connects
# to the game on port 7000 (retrying while it starts), says hello
# ("<token> <name>"), answers every "round <k>" line with a digit and leaves
# at "end".
for _ in $(seq 1 300); do
  exec 3<>"/dev/tcp/$JUDGER_GAME_HOST/7000" && break
  sleep 0.1
done 2>/dev/null
echo "$JUDGER_TOKEN $JUDGER_PLAYER_NAME" >&3 || exit 1
n=$JUDGER_AI_INDEX
while read -r line <&3; do
  case $line in end*) break ;; esac
  n=$(((n * 7 + 3) % 10))
  echo "$n" >&3
done
