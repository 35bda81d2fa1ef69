#!/bin/sh
# Test game logic for turn clocks (tests/judger/match/turn_clocks.c),
# busybox sh: main.sh SCENARIO. Player k is AI k named p<k>; every event
# is written to /judger/out/events.txt, one per line, as received.
#   tle      p0 gets a turn of 50 ms; the timeout and then its exit come
#   freeze   p0 gets a turn of 50 ms, runs out, is frozen; 500 ms later its
#            turn is ended (the turn_ended must show no growth); a second
#            turn runs out too and p0 is stopped frozen (TLE)
#   hang     p0's turn runs out, it is frozen, and the game logic sleeps
#   frozen_end  p0's turn runs out, it is frozen, and the match ends
#   exclusive   p1's turn while p0's is open is refused, then allowed
#   flood    20 000 turns back to back without reading an event
#   idle     p0 gets 5 turns ended at once: each charged ~0, bank unchanged
#   ponder   p0 (a burner) with freeze_idle: a 100 ms turn, 500 ms frozen,
#            then a turn ended at once
#   bad      refused turn commands, then one good turn
#   verdicts p0..p3 started; p3 gets a 50 ms turn (TLE); the others end
#            by themselves (OK, RE, MLE)
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
out=/judger/out/events.txt
: > $out
say() { echo "$1" >&4; }
# Reads events until one matches $1 (a case pattern); each is logged.
await() {
  while read -r ev <&3; do
    echo "$ev" >> $out
    case "$ev" in $1) return 0 ;; esac
  done
  return 1
}
start() { say "{\"cmd\":\"start\",\"name\":\"p$1\",\"ai\":$1}"; await "*\"started\"*\"p$1\"*"; }
end() { say "{\"cmd\":\"end\",\"scores\":[$1]}"; }

case "$1" in
tle)
  start 0
  say '{"cmd":"turn","name":"p0","budget_ms":50}'
  await '*"timeout"*'
  await '*"exited"*'
  end 0 ;;
freeze)
  start 0
  say '{"cmd":"turn","name":"p0","budget_ms":50}'
  await '*"timeout"*'
  sleep 0.5
  say '{"cmd":"turn_end","name":"p0"}'
  await '*"turn_ended"*'
  say '{"cmd":"turn","name":"p0","budget_ms":50}'
  await '*"timeout"*'
  say '{"cmd":"stop","name":"p0"}'
  await '*"exited"*'
  end 0 ;;
hang)
  start 0
  say '{"cmd":"turn","name":"p0","budget_ms":50}'
  await '*"timeout"*'
  sleep 120 ;;
frozen_end)
  start 0
  say '{"cmd":"turn","name":"p0","budget_ms":50}'
  await '*"timeout"*'
  end 0 ;;
exclusive)
  start 0
  start 1
  say '{"cmd":"turn","name":"p0","budget_ms":1000}'
  say '{"cmd":"turn","name":"p1","budget_ms":1000}'
  await '*"refused"*'
  say '{"cmd":"turn_end","name":"p0"}'
  await '*"turn_ended"*'
  say '{"cmd":"turn","name":"p1","budget_ms":1000}'
  say '{"cmd":"turn_end","name":"p1"}'
  await '*"turn_ended"*'
  end 0,0 ;;
flood)
  # 20 000 turns back to back, no event read until the end.
  start 0
  i=0
  while [ $i -lt 20000 ]; do
    echo "turn p0 1000"
    echo "turn_end p0"
    i=$((i + 1))
  done >&4
  end 0 ;;
idle)
  start 0
  i=0
  while [ $i -lt 5 ]; do
    say "turn p0 100"
    say "turn_end p0"
    await '*"turn_ended"*'
    i=$((i + 1))
  done
  end 0 ;;
ponder)
  start 0
  say '{"cmd":"turn","ai":0,"budget_ms":1000}'
  sleep 0.1
  say '{"cmd":"turn_end","ai":0}'
  await '*"turn_ended"*'
  sleep 0.5
  say '{"cmd":"turn","name":"p0","budget_ms":1000}'
  say '{"cmd":"turn_end","name":"p0"}'
  await '*"turn_ended"*'
  end 0 ;;
bad)
  start 0
  say '{"cmd":"turn","name":"nobody","budget_ms":10}'
  await '*"refused"*'
  say '{"cmd":"turn_end","name":"p0"}'
  await '*"refused"*'
  say '{"cmd":"turn","name":"p0","budget_ms":-5}'
  await '*"refused"*'
  say '{"cmd":"turn","ai":7}'
  await '*"refused"*'
  say 'turn p0 abc'
  await '*"refused"*'
  say '{"cmd":"turn","name":"p0","budget_ms":1000}'
  say '{"cmd":"turn","name":"p0","budget_ms":1000}'
  await '*"refused"*'
  say '{"cmd":"turn_end","name":"p0"}'
  await '*"turn_ended"*'
  say '{"cmd":"stop","name":"p0"}'
  await '*"exited"*'
  say '{"cmd":"turn","name":"p0","budget_ms":10}'
  await '*"refused"*'
  end 0 ;;
verdicts)
  start 0
  start 1
  start 2
  start 3
  say '{"cmd":"turn","name":"p3","budget_ms":50}'
  n=$(grep -c '"exited"' $out)
  while [ "$n" -lt 4 ] && await '*"exited"*'; do n=$((n + 1)); done
  end 0,0,0,0 ;;
esac
exit 0
