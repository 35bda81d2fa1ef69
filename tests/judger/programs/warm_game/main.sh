#!/bin/sh
# Test game logic for warm starts (tests/judger/match/warm.c), busybox sh.
#
# config: {"plan": "AI:NAME ...", "delay": "SECONDS", "reach": "1"|"0"}
# Sleeps delay seconds, then for each entry of the plan writes "NAME UPTIME"
# (when it asked, /proc/uptime: the host's clock in every container) to
# /judger/out/asked.txt and starts AI as NAME. With reach 1 it connects to
# every started player by its name on port 7100 and appends "NAME REPLY" to
# /judger/out/reached.txt. Writes the tokens of match.json to tokens.txt;
# ends with zeros once every player exited.
cfg=/judger/match.json
exec 3<"$JUDGER_EVENT_PIPE"
exec 4>"$JUDGER_CMD_PIPE"
out=/judger/out
plan=$(sed -n 's/.*"plan": *"\([0-9a-z: ]*\)".*/\1/p' $cfg | head -n 1)
delay=$(sed -n 's/.*"delay": *"\([0-9.]*\)".*/\1/p' $cfg | head -n 1)
reach=$(sed -n 's/.*"reach": *"\([01]\)".*/\1/p' $cfg | head -n 1)
grep -o '"token": *"[0-9a-f]*"' $cfg | sed 's/.*"\([0-9a-f]*\)"$/\1/' > $out/tokens.txt
: > $out/asked.txt
: > $out/reached.txt
sleep "${delay:-0}"
n=0
for e in $plan; do
  ai=${e%%:*}
  name=${e#*:}
  echo "$name $(cut -d' ' -f1 /proc/uptime)" >> $out/asked.txt
  echo "{\"cmd\":\"start\",\"name\":\"$name\",\"ai\":$ai}" >&4
  n=$((n + 1))
done
exited=0
while [ $exited -lt $n ] && read -r ev <&3; do
  case "$ev" in
  *'"started"'*)
    if [ "$reach" = 1 ]; then
      name=$(echo "$ev" | sed 's/.*"name":"\([^"]*\)".*/\1/')
      (
        i=0
        # Up to ~15 s: under load a newer engine's DNS can answer for a name
        # a moment after the container that now holds it started.
        while [ $i -lt 300 ]; do
          r=$(echo hi | nc -w 2 "$name" 7100 2>/dev/null)
          if [ -n "$r" ]; then
            echo "$name $r" >> $out/reached.txt
            exit 0
          fi
          sleep 0.05
          i=$((i + 1))
        done
      ) &
    fi ;;
  *'"exited"'*) exited=$((exited + 1)) ;;
  esac
done
wait
scores=""
i=0
while [ $i -lt $JUDGER_AI_COUNT ]; do scores="$scores${scores:+,}0"; i=$((i + 1)); done
echo "{\"cmd\":\"end\",\"scores\":[$scores]}" >&4
exit 0
