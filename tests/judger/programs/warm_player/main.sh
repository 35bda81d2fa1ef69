#!/bin/sh
# Test player for warm starts (tests/judger/match/warm.c), busybox sh.
#   main.sh quick|linger|serve|sleep
# Its first instruction writes the uptime it started at (the host's clock);
# then what it sees of itself (environment, user, capabilities, seccomp,
# root entries), all on stderr. serve: answers one connection on port 7100 with
# "NAME AI", then lingers; linger: exits after 2 s (the test looks at its
# container meanwhile); sleep: sleeps until killed; quick: exits.
echo "uptime $(cut -d' ' -f1 /proc/uptime)" >&2
echo "env name=$JUDGER_PLAYER_NAME ai=$JUDGER_AI_INDEX token=$JUDGER_TOKEN game=$JUDGER_GAME_HOST match=$JUDGER_MATCH_ID home=$HOME path=$PATH" >&2
echo "self host=$(hostname) uid=$(id -u) gid=$(id -g) cwd=$(pwd)" >&2
grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/self/status >&2
echo "files $(ls -A / | tr '\n' ' ')" >&2
case "$1" in
serve)
  echo "$JUDGER_PLAYER_NAME $JUDGER_AI_INDEX" | nc -l -p 7100 -w 30 >/dev/null
  sleep 2 ;;
linger) sleep 2 ;;
sleep) sleep 1000 ;;
esac
exit 0
