#!/bin/sh
# Test game logic (busybox sh) for the live frames (tests/judger/match/match_live.c).
#
# config: {"mode": "frames|fill", "n": N}
#   frames: three frames (JSON form, text form, a bare scalar), one larger
#           than limits.frame_max_bytes, then a flood of N frames back to
#           back; then it starts player p0 (AI 0) and, once its exit is
#           told, ends the match: the pipe still serves after the flood.
#   fill:   N frames of ~100 bytes (for limits.live_max_bytes), then ends.
cfg=/judger/match.json
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
mode=$(sed -n 's/.*"mode": *"\([a-z]*\)".*/\1/p' $cfg | head -n 1)
n=$(sed -n 's/.*"n": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
case "$mode" in
frames)
  echo '{"cmd":"frame","data":{"turn":1,"board":[[1,0],[0,2]],"who":"a/b"}}' >&4
  echo 'frame {"turn": 2, "moves": ["up", "left"]}' >&4
  echo 'frame 42' >&4
  echo "{\"cmd\":\"frame\",\"data\":\"$pad$pad$pad\"}" >&4
  i=0
  while [ $i -lt "$n" ]; do echo "frame {\"flood\":$i}"; i=$((i + 1)); done >&4
  echo '{"cmd":"start","name":"p0","ai":0}' >&4
  while read -r ev <&3; do
    case "$ev" in *'"exited"'*) break ;; esac
  done
  echo 'frame "last"' >&4
  echo '{"cmd":"end","scores":[7]}' >&4
  exit 0 ;;
fill)
  i=0
  while [ $i -lt "$n" ]; do echo "frame {\"i\":$i,\"pad\":\"$pad\"}"; i=$((i + 1)); done >&4
  echo '{"cmd":"end","scores":[1]}' >&4
  exit 0 ;;
esac
echo "game: unknown mode $mode"
exit 1
