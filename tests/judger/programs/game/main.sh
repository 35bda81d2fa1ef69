#!/bin/sh
# Test game logic (busybox sh) for the match engine tests.
#
# config: {"seed": N, "plan": "0 1", "mode": "normal|garbage|crash|hang|quick"}
# plan: AI index of each player to start, in order; player k is named "p<k>"
# and sends "<token> <name>" to game:7000+k. Score of an AI = sum over its
# players of (seed % 7 + 10 * ai) when the token matches match.json's.
# Every event received is written to /judger/out/events.txt.
cfg=/judger/match.json
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
seed=$(sed -n 's/.*"seed": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
plan=$(sed -n 's/.*"plan": *"\([0-9 ]*\)".*/\1/p' $cfg | head -n 1)
mode=$(sed -n 's/.*"mode": *"\([a-z]*\)".*/\1/p' $cfg | head -n 1)
out=/judger/out
: > $out/events.txt
echo "game: seed=$seed plan=$plan mode=$mode"

token_of() { # AI index -> its token in match.json
  grep -o '"token": *"[0-9a-f]*"' $cfg | sed -n "$(($1 + 1))p" | sed 's/.*"\([0-9a-f]*\)"$/\1/'
}

case "$mode" in
bench)
  # The benchmark's trivial match: start every player, wait for their exits,
  # end with zeros. No listeners, no sleeps.
  k=0
  for ai in $plan; do
    echo "{\"cmd\":\"start\",\"name\":\"p$k\",\"ai\":$ai}" >&4
    k=$((k + 1))
  done
  exited=0
  while [ $exited -lt $k ] && read -r ev <&3; do
    case "$ev" in *'"exited"'*) exited=$((exited + 1)) ;; esac
  done
  scores=""
  i=0
  while [ $i -lt $JUDGER_AI_COUNT ]; do scores="$scores${scores:+,}0"; i=$((i + 1)); done
  echo "{\"cmd\":\"end\",\"scores\":[$scores]}" >&4
  exit 0 ;;
flood)
  # 200 starts back to back: the caps must refuse what is past them, and
  # the judger must keep serving.
  k=0
  while [ $k -lt 200 ]; do
    echo "{\"cmd\":\"start\",\"name\":\"p$k\",\"ai\":0}"
    k=$((k + 1))
  done >&4
  started=0 refused=0 exited=0
  while [ $((refused + exited)) -lt 200 ] && read -r ev <&3; do
    case "$ev" in
    *'"started"'*) started=$((started + 1)) ;;
    *'"refused"'*) refused=$((refused + 1)) ;;
    *'"exited"'*) exited=$((exited + 1)) ;;
    esac
  done
  echo "started=$started refused=$refused exited=$exited" > $out/replay.txt
  echo "{\"cmd\":\"end\",\"scores\":[$started]}" >&4
  exit 0 ;;
badtext)
  # Program bytes that are not valid UTF-8 (and NULs, and a long CJK text)
  # in a progress command, a refused command and the end messages: every
  # output of the judger must still be strict UTF-8 JSON.
  printf '{"cmd":"progress","note":"bad \377\376 byte","k\300":"nul\\u0000x"}\n' >&4
  printf '{"cmd":"fly\344\270"}\n' >&4
  while read -r ev <&3; do
    echo "$ev" >> $out/events.txt
    case "$ev" in *'"refused"'*) break ;; esac
  done
  cjk=$(i=0; while [ $i -lt 400 ]; do printf '\344\270\255'; i=$((i + 1)); done)
  printf '{"cmd":"end","scores":[1,2,3],"messages":["%s","nul\\u0000 \377\300 here","ok"]}\n' "$cjk" >&4
  exit 0 ;;
escapes)
  # Terminal control sequences in everything a person may see: a progress
  # note (title change + BEL), a refused command, an end message (clear
  # screen, CR, 8-bit CSI) and the game's log.
  printf 'game: \033]0;pwned\007 log\n'
  printf '{"cmd":"progress","note":"\\u001b]0;pwned\\u0007"}\n' >&4
  printf '{"cmd":"fly\033[2J"}\n' >&4
  while read -r ev <&3; do
    case "$ev" in *'"refused"'*) break ;; esac
  done
  printf '{"cmd":"end","scores":[1],"messages":["\\u001b[2J\\r\\u009b1m\\u007f"]}\n' >&4
  exit 0 ;;
plant)
  # Names the judger might write through: its old temporary names (the
  # judger's pid comes in the config) and its own files' names.
  pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' $cfg | head -n 1)
  for n in result.json game_logic.log player_0.log; do
    mkdir -p "$out/$n.tmp.$pid" "$out/$n"
  done
  ln -s /etc/passwd "$out/player_1.log" 2>/dev/null
  echo '{"cmd":"end","scores":[5,6]}' >&4
  exit 0 ;;
fill)
  # 1 GiB into /judger/out: the tmpfs (out_max) stops it.
  dd if=/dev/zero of=$out/big bs=1M count=1024 2>/dev/null
  echo "dd=$?"
  df -k $out | tail -n 1
  echo '{"cmd":"end","scores":[0]}' >&4
  exit 0 ;;
many)
  # More files than the cap, and a 2000-level tree (paths past PATH_MAX).
  i=0
  while [ $i -lt 10050 ]; do : > $out/f$i; i=$((i + 1)); done
  (cd $out && i=0 && while [ $i -lt 2000 ]; do mkdir d && cd d || break; i=$((i + 1)); done &&
    echo deep > leaf && echo "levels=$i")
  echo '{"cmd":"end","scores":[0]}' >&4
  exit 0 ;;
crafted)
  # A tar of the game's own straight into judger-hold's FIFO: a file past
  # out_max, a link out, a tree past the depth cap; only small.txt fits.
  mkdir -p /tmp/t && cd /tmp/t || exit 1
  echo small > small.txt
  head -c 2097152 /dev/zero > big.bin
  ln -s /etc/passwd link
  d=deep; i=0
  while [ $i -lt 70 ]; do d=$d/d; i=$((i + 1)); done
  mkdir -p $d && echo leaf > $d/leaf
  tar -cf /judger/.outputs small.txt big.bin link deep && echo "crafted=ok"
  echo '{"cmd":"end","scores":[0]}' >&4
  exit 0 ;;
dirflood)
  # Headers alone: 10 100 empty directories straight into the FIFO (no
  # bytes, no files: only the directory cap can stop them).
  mkdir -p /tmp/f/flood && cd /tmp/f/flood || exit 1
  seq 1 10100 | xargs mkdir && cd /tmp/f || exit 1
  tar -cf /judger/.outputs flood && echo "dirflood=ok"
  echo '{"cmd":"end","scores":[0]}' >&4
  exit 0 ;;
crash) echo "game: crashing" >&2; exit 1 ;;
hang) echo "game: hanging"; while :; do sleep 1; done ;;
garbage)
  # Every bad line must come back as a refused event, and the judger must
  # go on serving the pipe.
  printf 'this is not a command\n' >&4
  printf '{"cmd":"start","name":"p0","ai":99}\n' >&4
  printf '{"cmd":"start","name":"game","ai":0}\n' >&4
  printf '{"cmd":"fly"}\n' >&4
  printf '\001\002\003\377garbage\n' >&4
  head -c 100000 /dev/zero | tr '\0' 'x' >&4; printf '\n' >&4
  printf '{"cmd":"stop","name":"nobody"}\n' >&4
  printf 'end_match [1, 2]\n' >&4
  refused=0
  while [ $refused -lt 8 ] && read -r ev <&3; do
    echo "$ev" >> $out/events.txt
    case "$ev" in *'"refused"'*) refused=$((refused + 1)) ;; esac
  done
  echo "{\"cmd\":\"end\",\"scores\":[$refused]}" >&4
  exit 0 ;;
esac

# Listeners get a stdin that stays open and silent: at EOF on stdin busybox
# nc half-closes the connection, and a client whose `echo` had not yet
# filled its pipe then sees that EOF first and exits 0 without sending.
# A listener every player may probe (the isolation test's control). A
# player's listener waits 30 s: the isolation test's prober spends some
# 10 s on its blocked tries before it calls, and a player asked for at the
# game logic's start may run a moment after it (warm.h).
sleep 60 | nc -l -p 7100 -w 20 > /tmp/intruder &
n=0
for ai in $plan; do
  sleep 60 | nc -l -p $((7000 + n)) -w 30 > /tmp/in$n &
  n=$((n + 1))
done
k=0
for ai in $plan; do
  echo "{\"cmd\":\"start\",\"name\":\"p$k\",\"ai\":$ai}" >&4
  k=$((k + 1))
done
echo '{"cmd":"progress","turn":1,"turns":1}' >&4
if [ "$mode" = quick ]; then
  # End as soon as everyone started: lingering players must be removed.
  started=0
  while [ $started -lt $n ] && read -r ev <&3; do
    echo "$ev" >> $out/events.txt
    case "$ev" in *'"started"'*) started=$((started + 1)) ;; esac
  done
else
  exited=0
  while [ $exited -lt $n ] && read -r ev <&3; do
    echo "$ev" >> $out/events.txt
    case "$ev" in *'"exited"'*|*'"cancelled"'*) exited=$((exited + 1)) ;; esac
  done
fi
nais=$JUDGER_AI_COUNT
scores=""
i=0
while [ $i -lt $nais ]; do
  tok=$(token_of $i)
  s=0
  k=0
  for ai in $plan; do
    if [ "$ai" = "$i" ] && [ "$(cut -d' ' -f1 /tmp/in$k 2>/dev/null)" = "$tok" ]; then
      s=$((s + seed % 7 + 10 * i))
    fi
    k=$((k + 1))
  done
  scores="$scores${scores:+,}$s"
  i=$((i + 1))
done
echo "seed=$seed plan=$plan scores=$scores intruder=$(cat /tmp/intruder 2>/dev/null)" > $out/replay.txt
echo "game: scores $scores"
echo "{\"cmd\":\"end\",\"scores\":[$scores],\"messages\":[\"well played\"]}" >&4
exit 0
