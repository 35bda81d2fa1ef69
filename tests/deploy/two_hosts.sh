#!/usr/bin/env bash
# test-labels: deploy
# The deployment, proved (docs/deployment.md): images/compose.yml as users
# copy it, two judger hosts (each a judger container + its own
# Docker-in-Docker engine) and the queue under Redis Sentinel (a primary, a
# replica, three sentinels) on this machine.
#
#   tests/deploy/two_hosts.sh images   builds judger/dind, judger/judger and
#                                      judger/redis with images/build-image.sh
#   tests/deploy/two_hosts.sh run      the two-host test (needs the images)
#
# run: the engines start (unprivileged settings, vfs), each gets the 2 MB
# busybox base image (the one thing an empty engine cannot make itself: no
# registry here); the judgers start and build the programs' run images
# themselves on their first match. 10 matches are submitted; host a (judger
# and engine) is killed with SIGKILL while it runs a match; then: every task
# has exactly one result, host b finished a's matches (lease takeover,
# attempt 2), `judger status` showed both hosts and then only b; host a is
# brought back and its start-up reconciliation empties its engine; nothing
# labelled judger.host is left in either engine. `judger status` names the
# primary, its replica and the three sentinels; both data nodes hold the
# same ACL users; the sentinels' user "judger" may only ask for the primary
# (SENTINEL SET/FAILOVER/REMOVE/MONITOR/CONFIG: NOPERM) and a sentinel asked
# without a password answers NOAUTH. Before all that, a newline or a space
# in a setting makes a sentinel or a data node refuse to start. The
# primary is killed: the sentinels promote the replica, the judgers follow
# it (status names it), a match submitted then gets its result; the old
# primary comes back as the replica. SIGTERM drains both judgers (exit 0).
# Everything the test made (containers, volumes, networks: the compose
# project) is removed on every path.
# Settings: DEPLOY_KEEP=1 leaves the project up after a failure (debugging);
# DEPLOY_LOG=FILE keeps the compose logs there (CTest: the build directory;
# default: printed in part after a failure, then removed with the rest).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
compose_file=$root/images/compose.yml
py=/usr/bin/python3
t_start=$(date +%s.%N)

say() { echo "deploy: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# Not reaching a real part is a failure under CI, a skip (77) elsewhere.
need() {
  [ "${CI:-}" = true ] && die "$*"
  say "SKIP: $*"
  exit 77
}

host_engine() { curl -fsS --max-time 3 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; }
host_engine || need "no Docker engine on /var/run/docker.sock (run images/setup-host.sh)"

build_images() {
  local what t log
  log=$(mktemp /tmp/judger-deploy-build.XXXXXX)
  for what in dind judger redis; do
    t=$(date +%s.%N)
    bash "$root/images/build-image.sh" "$what" >"$log" 2>&1 || {
      tail -30 "$log" >&2
      rm -f "$log"
      die "images/build-image.sh $what failed"
    }
    say "image judger/$what built in $(elapsed "$t") s"
  done
  rm -f "$log"
  say "images ready in $(elapsed "$t_start") s"
}

if [ "${1:-run}" = images ]; then
  build_images
  exit 0
fi

# The test may use the compose tool (the product never does): the plugin
# when present, else Debian's docker-compose (v1).
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  need "neither 'docker compose' nor docker-compose (apt-get install docker-compose)"
fi
for img in judger/judger judger/dind judger/redis; do
  docker image inspect "$img:latest" >/dev/null 2>&1 ||
    die "image $img:latest is missing: run tests/deploy/two_hosts.sh images"
done

# The deployment's settings for this machine (docs/deployment.md): no
# privileged (it fails here), vfs inside, a short lease so the takeover
# comes within seconds.
export DIND_PRIVILEGED=false DIND_UNPRIVILEGED=1 DIND_STORAGE_DRIVER=vfs
export JUDGER_SLOTS=2 JUDGER_LEASE_MS=6000 JUDGER_GRACE_MS=20000
export JUDGER_PROGRAMS=$root/tests/judger/programs JUDGER_REDIS_IMAGE=judger/redis:latest
# The queue's users as docs/deployment.md sets them up: the judgers connect
# as the ACL user "judger" (its keys and commands only); the test reads
# Redis as the operator ("default").
JUDGER_REDIS_PASSWORD=judger-$$-$RANDOM JUDGER_REDIS_ADMIN_PASSWORD=admin-$$-$RANDOM
export JUDGER_REDIS_PASSWORD JUDGER_REDIS_ADMIN_PASSWORD
# The judgers find the primary through the sentinels as the sentinels' user
# "judger" (the URL's query: it may only ask where the primary is); the
# operator and the sentinels among themselves use the sentinels' "default".
# They fail over 2 s after the primary goes silent.
JUDGER_SENTINEL_PASSWORD=sentinel-$$-$RANDOM JUDGER_SENTINEL_ADMIN_PASSWORD=sadmin-$$-$RANDOM
export JUDGER_SENTINEL_PASSWORD JUDGER_SENTINEL_ADMIN_PASSWORD JUDGER_REDIS_DOWN_MS=2000
export JUDGER_REDIS="redis-sentinel://judger:$JUDGER_REDIS_PASSWORD@sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/mymaster/0?sentinel_user=judger&sentinel_password=$JUDGER_SENTINEL_PASSWORD"
redis_services=(redis redis-replica sentinel-1 sentinel-2 sentinel-3)
# The hosts' own settings (compose.yml), not the test suite's.
unset DOCKER_HOST JUDGER_PROGRAM_ROOTS JUDGER_GIT_SCHEMES

project=judgerdeploy$$
dc() { "${compose[@]}" -p "$1" -f "$compose_file" "${@:2}"; }

# A run killed before its trap (SIGKILL, a ctest timeout) leaves its
# project: remove those whose test process is gone.
for p in $(docker ps -a --filter label=com.docker.compose.project \
  --format '{{.Label "com.docker.compose.project"}}' | sort -u); do
  case $p in judgerdeploy[0-9]*) ;; *) continue ;; esac
  kill -0 "${p#judgerdeploy}" 2>/dev/null && continue
  say "removing the leftover project $p"
  dc "$p" down -v --remove-orphans -t 1 >/dev/null 2>&1 || true
done

work=$(mktemp -d /tmp/judger-deploy.XXXXXX)
ok=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local log=${DEPLOY_LOG:-$work/compose.log} i
  # An engine that went away may come back: its restart policies would
  # bring the project up again, so wait a minute for it before removing.
  for i in $(seq 1 60); do host_engine && break; sleep 1; done
  dc "$project" logs --no-color --timestamps "${redis_services[@]}" judger-a judger-b engine-a engine-b \
    >"$log" 2>&1 || true
  [ -n "${DEPLOY_LOG:-}" ] && say "compose logs: $log"
  if [ "$ok" != 1 ]; then
    grep -E 'judger-[ab]_1' "$log" | tail -40 >&2 || true
    if [ "${DEPLOY_KEEP:-}" = 1 ]; then
      say "DEPLOY_KEEP=1: project $project left up"
      exit "$rc"
    fi
  fi
  dc "$project" down -v --remove-orphans -t 1 >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION SECONDS COMMAND...: polls the condition. The host's
# engine carries everything: when it stops answering (another test stopping
# dockerd: this one is RUN_SERIAL for that reason) the test says so.
wait_for() {
  local what=$1 limit=$2 t away=0
  shift 2
  t=$(date +%s)
  until "$@"; do
    [ $(($(date +%s) - t)) -lt "$limit" ] || die "timed out after $limit s: $what"
    if host_engine; then away=0; else away=$((away + 1)); fi
    [ "$away" -lt 20 ] || die "the host's Docker engine stopped answering while waiting: $what"
    sleep 0.3
  done
}

cid() { dc "$project" ps -q "$1" 2>/dev/null; }
inner() { # inner a|b docker-args...: the docker CLI of that host's engine
  local id
  id=$(cid "engine-$1")
  docker exec -i "$id" docker -H unix:///run/dind/docker.sock "${@:2}"
}
primary=redis # the data node the sentinels name (redis-replica after the failover)
rcli() { # redis-cli as the operator on the primary (or on the node given first: @name)
  local node=$primary
  case ${1:-} in @*) node=${1#@} && shift ;; esac
  docker exec -i "$(cid "$node")" redis-cli --no-auth-warning --user default \
    --pass "$JUDGER_REDIS_ADMIN_PASSWORD" --raw "$@"
}
jcli() { docker exec -i "$(cid "judger-$1")" judger "${@:2}"; }
engine_answers() { inner "$1" version >/dev/null 2>&1; }
labelled() { # labelled a|b: judger.host containers + networks of that engine
  # (the stock's empty networks stay by design: docs/match-spec.md "Pooled
  # networks"; one with an endpoint left counts)
  local stock used=0 id
  stock=$(inner "$1" network ls -q --filter label=judger.role=stock)
  for id in $stock; do
    [ "$(inner "$1" network inspect -f '{{len .Containers}}' "$id" 2>/dev/null || echo 0)" = 0 ] ||
      used=$((used + 1))
  done
  echo $(($(inner "$1" ps -aq --filter label=judger.host | wc -l) +
    $(inner "$1" network ls -q --filter label=judger.host | wc -l) -
    $(echo "$stock" | grep -c . || true) + used))
}
live_hosts() { # the live host ids in `judger status --json`, sorted
  jcli "$1" status --json 2>/dev/null | $py -c '
import json, sys
print(" ".join(sorted(h["host"] for h in json.load(sys.stdin)["hosts"])))' 2>/dev/null
}
hosts_are() { [ "$(live_hosts "$1")" = "$2" ]; }
# redis_is PRIMARY REPLICA|-: `judger status --json` (in judger-b) names that
# primary, that one replica with its link up (- none) and the three
# sentinels up, and the min_replicas_acked that follows (auto: 1 with a
# replica). The block is kept in $work/redis_block.
redis_is() {
  jcli b status --json 2>/dev/null | $py -c '
import json, sys
r = json.load(sys.stdin)["redis"]
json.dump(r, open(sys.argv[3], "w"))
reps = [] if sys.argv[2] == "-" else [(sys.argv[2], "up")]
sys.exit(not (r["mode"] == "sentinel" and r["master"] == "mymaster"
    and r["primary"]["addr"] == sys.argv[1]
    and [(x["addr"], x["link"]) for x in r["replicas"]] == reps
    and sorted(s["addr"] for s in r["sentinels"] if s["up"]) ==
        ["sentinel-%d:26379" % i for i in (1, 2, 3)]
    and r["min_replicas_acked"] == len(reps)))' "$1" "$2" "$work/redis_block" 2>/dev/null
}
scli() { # scli K [--user U --pass P] args...: redis-cli on sentinel-K (stdout and stderr)
  docker exec "$(cid "sentinel-$1")" redis-cli --no-auth-warning -p 26379 --raw "${@:2}" 2>&1
}
sentinels_name() { # sentinels_name HOST: every sentinel names HOST as the primary
  local k
  for k in 1 2 3; do
    [ "$(scli "$k" --pass "$JUDGER_SENTINEL_ADMIN_PASSWORD" \
      SENTINEL get-master-addr-by-name mymaster | head -1)" = "$1" ] || return 1
  done
}
# The ACL rules of a data node, one rule a line, sorted (ACL LIST orders a
# user's commands as it likes).
acl_rules() { rcli "@$1" ACL LIST | tr ' ' '\n' | sed 's/^#.*/#hash/' | sort; }

# The busybox base, imported into an engine: FROM scratch + busybox-static.
base_tar=$work/busybox.tar
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
chmod 1777 "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
printf 'root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
for a in $(/bin/busybox --list); do
  [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"
done
tar -C "$work/rootfs" -cf "$base_tar" .
# An engine of a real deployment holds the Debian base (judger build
# --base-image, a debootstrap), and the judger builds its build proxy from
# it on the engine's first image build (docs/build.md). Both are copied from
# the host's engine when it has them, as images/engines/sidecar.sh does:
# under vfs the proxy build (apt-get in a 170 MB copy) costs a minute or
# more per engine. A proxy image the host lacks (another allow-list) is
# built by the judgers themselves.
docker image inspect judger/debian:bookworm >/dev/null 2>&1 || {
  host_engine || die "the host's Docker engine stopped answering (another test restarting dockerd?)"
  die "judger/debian:bookworm is missing on the host's engine (images/build-image.sh makes it)"
}
seeds=(judger/debian:bookworm $(docker images --filter label=judger.build-proxy=image \
  --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' || true))
docker save "${seeds[@]}" >"$work/debian.tar"
seed() {
  inner "$1" import - judger-test/busybox:1 <"$base_tar" >/dev/null &&
    inner "$1" load <"$work/debian.tar" >/dev/null
}

# ---- settings a node refuses ------------------------------------------------
# Every setting that reaches a sentinel's config file or a data node's
# arguments is checked before the node starts: a newline would add a
# directive (sentinel notification-script), a space would split a rule.
refused() { # refused SERVICE SETTING VALUE: the service exits non-zero, naming it
  local out
  if out=$(env "$2=$3" "${compose[@]}" -p "$project" -f "$compose_file" run --rm --no-deps \
    "$1" 2>&1); then
    die "$1 started with $2=$(printf %q "$3")"
  fi
  case $out in *"$2: "*"refusing to start"*) ;; *) die "$1 refused $2 without saying so: $out" ;; esac
}
t_refused=$(date +%s.%N)
refused sentinel-1 JUDGER_SENTINEL_PASSWORD $'ok\nsentinel notification-script /tmp/x.sh'
refused sentinel-2 JUDGER_REDIS_ADMIN_PASSWORD 'two words'
refused sentinel-3 JUDGER_REDIS_DOWN_MS $'2000\nsentinel deny-scripts-reconfig no'
refused redis JUDGER_REDIS_PASSWORD $'pw\n--user evil on nopass +@all'
say "a newline or a space in a setting stops the node at start ($(elapsed "$t_refused") s)"

# ---- up -------------------------------------------------------------------
t_up=$(date +%s.%N)
dc "$project" up -d "${redis_services[@]}" engine-a engine-b >"$work/up.log" 2>&1 || die "compose up: $(tail -5 "$work/up.log")"
wait_for "the engines answer" 90 engine_answers a
wait_for "the engines answer" 90 engine_answers b
t_seed=$(date +%s.%N)
seed a &
pa=$!
seed b &
pb=$!
wait "$pa" && wait "$pb" || die "seeding the engines"
say "engines seeded in $(elapsed "$t_seed") s: busybox, ${seeds[*]}"
dc "$project" up -d >>"$work/up.log" 2>&1 || die "compose up: $(tail -5 "$work/up.log")"
wait_for "judger status shows both hosts" 90 hosts_are b "judge-a judge-b"
say "two hosts up in $(elapsed "$t_up") s; judger status: $(live_hosts b)"
# The judgers' Redis user reaches the judger's keys and nothing else.
jcmd() { docker exec -i "$(cid redis)" redis-cli --no-auth-warning --user judger \
  --pass "$JUDGER_REDIS_PASSWORD" --raw "$@" 2>&1; }
case $(jcmd SET other:key 1) in *NOPERM*) ;; *) die "the judger user wrote outside judger:*" ;; esac
case $(jcmd FLUSHALL) in *NOPERM*) ;; *) die "the judger user may FLUSHALL" ;; esac
case $(jcmd XLEN judger:q:match) in [0-9]*) ;; *) die "the judger user cannot read its stream" ;; esac
say "the judger's Redis user is held to judger:* and the queue's commands"
# The replica becomes the primary in a failover: the same users.
[ "$(acl_rules redis)" = "$(acl_rules redis-replica)" ] ||
  die "the data nodes' ACL users differ: $(diff <(acl_rules redis) <(acl_rules redis-replica) | head)"
wait_for "judger status names the primary, its replica and three sentinels" 60 \
  redis_is redis:6379 redis-replica:6379
# The sentinels' user "judger" (every judger host holds its password) asks
# where the primary is and nothing else: no failover, no re-pointing, no
# settings. Nobody without a password gets anything.
sj=(--user judger --pass "$JUDGER_SENTINEL_PASSWORD")
[ "$(scli 1 "${sj[@]}" SENTINEL get-master-addr-by-name mymaster | head -1)" = redis ] ||
  die "the sentinels' judger user cannot ask for the primary"
for c in "SENTINEL SET mymaster down-after-milliseconds 1" "SENTINEL FAILOVER mymaster" \
  "SENTINEL REMOVE mymaster" "SENTINEL MONITOR evil 192.0.2.1 6379 1" \
  "SENTINEL CONFIG SET resolve-hostnames no" "ACL SETUSER judger +@all"; do
  # shellcheck disable=SC2086 # the command's words
  case $(scli 2 "${sj[@]}" $c) in *NOPERM*) ;; *) die "the sentinels' judger user may $c" ;; esac
done
case $(scli 3 "${sj[@]}" CONFIG SET protected-mode yes) in
  *NOPERM* | *"unknown command"*) ;; *) die "the sentinels' judger user may CONFIG SET" ;;
esac
for c in "SENTINEL get-master-addr-by-name mymaster" "SENTINEL FAILOVER mymaster"; do
  # shellcheck disable=SC2086
  case $(scli 1 $c) in *NOAUTH*) ;; *) die "a sentinel answered $c without a password" ;; esac
done
case $(scli 1 --pass "$JUDGER_SENTINEL_PASSWORD" SENTINEL masters) in
  *WRONGPASS*) ;; *) die "the judger's sentinel password opens the sentinels' default user" ;;
esac
say "the sentinels' judger user may only ask for the primary; no password, no answer"
say "judger status: $(cat "$work/redis_block")"
jcli b status 2>/dev/null | sed -n '/^REDIS/,/^$/p' >&2
both_seen=1

# ---- 10 matches -------------------------------------------------------------
# (10 one-second turns, killed at turn 1 to 3: the heartbeat's progress is
# a few seconds old, and a victim that really was at its end finished on
# host a before the kill: seen with 6 turns killed at turn 3)
turns=10
t_match=$(date +%s.%N)
ids=()
for i in $(seq -w 1 10); do
  id=dep-$i
  ids+=("$id")
  printf '{"id":"%s","type":"match","match":{"id":"%s","game_logic":{"id":"deploy-game","dir":"/srv/programs/daemon_game"},"players":[{"id":"honest","dir":"/srv/programs/honest"}],"config":{"turns":%d,"player":true}}}' \
    "$id" "$id" "$turns" | jcli b submit --priority match - >/dev/null || die "submit $id"
done

# The moment to kill: host a runs a match whose game logic is past turn 1
# with turns to go (the heartbeat carries each task's progress).
running_on_a() {
  jcli b status --json 2>/dev/null | $py -c '
import json, sys
turns = int(sys.argv[1])
for t in json.load(sys.stdin)["running"]:
    p = t.get("progress") or {}
    if t["host"] == "judge-a" and 1 <= p.get("turn", 0) <= 3:
        print(t["task_id"])' "$turns" >"$work/victims" 2>/dev/null
  [ -s "$work/victims" ]
}
wait_for "host a runs a match mid-way" 180 running_on_a
victims=$(cat "$work/victims")
# The judger first, then its engine: killed together, the judger sometimes
# outlived its engine by a few ms and retried its matches for the engine's
# fault (stop 34's CI), which the checks below rightly count as a system fault.
ja=$(cid judger-a)
docker kill "$ja" >/dev/null
judger_a_dead() { [ "$(docker inspect -f '{{.State.Running}}' "$ja" 2>/dev/null)" = false ]; }
wait_for "judger a is dead" 30 judger_a_dead
docker kill "$(cid engine-a)" >/dev/null
t_kill=$(date +%s.%N)
say "killed host a (judger + engine) while it ran: $(echo $victims)"

all_results() {
  local id
  for id in "${ids[@]}"; do
    [ "$(rcli EXISTS "judger:result:$id")" = 1 ] || return 1
  done
}
wait_for "judger status shows only host b" 60 hosts_are b "judge-b"
one_seen=1
wait_for "all 10 results" 300 all_results
say "all results $(elapsed "$t_match") s after the first submit, $(elapsed "$t_kill") s after the kill"

# ---- checks -----------------------------------------------------------------
for id in "${ids[@]}"; do
  rcli GET "judger:result:$id" | $py -c '
import json, sys
r = json.load(sys.stdin)
t = r["task"]
print(sys.argv[1], t["host"], t["attempt"], r["status"], json.dumps(r.get("scores")))' "$id"
done >"$work/results"
cat "$work/results" >&2
awk '$4 != "finished" || $5 != "[7.0]" && $5 != "[7]" { bad = 1; print "deploy: not finished with score 7: " $0 > "/dev/stderr" }
     END { exit bad }' "$work/results" || die "a match did not finish with the honest player's score"
for v in $victims; do
  grep -q "^$v judge-b [2-9] " "$work/results" ||
    die "task $v, running on the killed host, was not finished by judge-b on a later attempt"
done
# Exactly one result each: one entry per task in the results stream.
one_result_each() {
  rcli XRANGE judger:results - + | $py -c '
import sys, collections
lines = sys.stdin.read().split("\n")
ids = [lines[i + 1] for i, l in enumerate(lines[:-1]) if l == "task_id"]
c = collections.Counter(ids)
bad = {k: v for k, v in c.items() if v != 1} or sorted(c) != sorted(sys.argv[1:])
sys.exit("deploy: results stream: %s" % dict(c) if bad else 0)' "${ids[@]}"
}
one_result_each
[ "$(rcli XLEN judger:dead)" = 0 ] || die "dead letters: $(rcli XRANGE judger:dead - +)"
# No system fault on the way: the only re-runs are the takeovers.
faults=$(for h in a b; do docker logs "$(cid "judger-$h")" 2>&1; done | grep -E 'task\.(retry|dead)' || true)
[ -z "$faults" ] || die "tasks were retried for a system fault: $faults"

# ---- host a comes back ------------------------------------------------------
dc "$project" start engine-a >>"$work/up.log" 2>&1 || die "restart engine-a"
wait_for "engine a answers again" 90 engine_answers a
left=$(labelled a)
say "engine a came back holding $left labelled leftovers of the killed run"
dc "$project" start judger-a >>"$work/up.log" 2>&1 || die "restart judger-a"
wait_for "judger status shows both hosts again" 60 hosts_are b "judge-a judge-b"
no_leftovers() { [ "$(labelled a)" = 0 ] && [ "$(labelled b)" = 0 ]; }
wait_for "nothing labelled left in either engine" 60 no_leftovers
one_result_each # the host that came back re-ran nothing

# ---- the primary dies ---------------------------------------------------------
docker kill "$(cid redis)" >/dev/null
t_fail=$(date +%s.%N)
wait_for "the sentinels promote redis-replica" 60 sentinels_name redis-replica
say "the sentinels named redis-replica $(elapsed "$t_fail") s after the primary's death"
primary=redis-replica
wait_for "judger status names the new primary" 60 redis_is redis-replica:6379 -
say "judger status follows: $(cat "$work/redis_block")"
id=dep-failover
ids+=("$id")
printf '{"id":"%s","type":"match","match":{"id":"%s","game_logic":{"id":"deploy-game","dir":"/srv/programs/daemon_game"},"players":[{"id":"honest","dir":"/srv/programs/honest"}],"config":{"turns":2,"player":true}}}' \
  "$id" "$id" | jcli b submit --priority match - >/dev/null || die "submit $id after the failover"
wait_for "the result of a match submitted after the failover" 120 all_results
say "a match submitted after the failover finished $(elapsed "$t_fail") s after the primary's death"
one_result_each
dc "$project" start redis >>"$work/up.log" 2>&1 || die "restart redis"
wait_for "the old primary comes back as the replica" 90 redis_is redis-replica:6379 redis:6379
[ "$(rcli @redis ROLE | head -1)" = slave ] || die "the old primary is not a replica"

# SIGTERM drains: both judgers exit 0 within their stop grace.
dc "$project" stop judger-a judger-b >>"$work/up.log" 2>&1
for h in a b; do
  code=$(docker inspect -f '{{.State.ExitCode}}' "$(cid "judger-$h")")
  [ "$code" = 0 ] || die "judger-$h exited $code on SIGTERM"
done
[ "${both_seen:-}" = 1 ] && [ "${one_seen:-}" = 1 ]
ok=1
say "PASS in $(elapsed "$t_start") s (up, 10 matches, kill, takeover, restart, failover, drain)"
