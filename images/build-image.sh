#!/usr/bin/env bash
# Builds one of the project's own images through the engine API (curl on the
# engine's socket; no docker CLI needed):
#   images/build-image.sh judger   -> judger/judger:latest (context: the repo)
#   images/build-image.sh dind     -> judger/dind:latest   (context: images/dind)
#   images/build-image.sh redis    -> judger/redis:latest  (context: images/redis;
#                                     the queue where no registry has redis:7)
# Both start FROM judger/debian:bookworm, which `judger build --base-image`
# makes offline (debootstrap) once per engine.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: images/build-image.sh judger|dind|redis}
sock=${DOCKER_SOCK:-/var/run/docker.sock}
case "$what" in
  # The working tree, not HEAD (a test builds what it tests), and only what
  # the Dockerfile copies: build directories and caches stay out.
  judger) ctx=(tar -cf - CMakeLists.txt include dockerapi judger images/judger/Dockerfile)
          dockerfile=images/judger/Dockerfile ;;
  dind)   ctx=(tar -C images/dind -cf - .);    dockerfile=Dockerfile ;;
  redis)  ctx=(tar -C images/redis -cf - .);   dockerfile=Dockerfile ;;
  *) echo "unknown image $what" >&2; exit 2 ;;
esac
if ! curl -fsS --unix-socket "$sock" "http://d/images/judger/debian:bookworm/json" >/dev/null 2>&1; then
  [ -x build/bin/judger ] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" >/dev/null; }
  build/bin/judger build --base-image
fi
out=$(mktemp)
"${ctx[@]}" | curl -sS --unix-socket "$sock" -X POST -H 'Content-Type: application/x-tar' \
  --data-binary @- "http://d/build?t=judger/$what:latest&dockerfile=$dockerfile&rm=1&forcerm=1" \
  | tee "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line: continue
    m = json.loads(line)
    if "stream" in m: sys.stdout.write(m["stream"])
    if "error" in m: sys.stdout.write("ERROR: " + m["error"] + "\n")
'
if grep -q '"error"' "$out"; then rm -f "$out"; echo "build of judger/$what failed" >&2; exit 1; fi
rm -f "$out"
echo "built judger/$what:latest"
