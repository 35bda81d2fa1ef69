#!/bin/sh
# CI job step: builds the commit under test with judger and fails the job
# with judger's exit code (0 ok/cached, 1 the program's fault, 2 usage,
# 3 system fault). Run it from anywhere inside the checkout.
#   JUDGER_DOMAIN  ai | game_logic   (default ai)
#   JUDGER_ID      program id        (default: the checkout directory's name)
#   CI_COMMIT_SHA  the commit        (GitLab; GITHUB_SHA on GitHub; default HEAD)
#   JUDGER         the judger binary (default judger)
set -u
top=$(git rev-parse --show-toplevel) || exit 2
commit=${CI_COMMIT_SHA:-${GITHUB_SHA:-$(git rev-parse HEAD)}}
id=${JUDGER_ID:-$(basename "$top" | tr 'A-Z' 'a-z')}
"${JUDGER:-judger}" build --domain "${JUDGER_DOMAIN:-ai}" --id "$id" \
  --git "$top" --ref "$commit" --json >judger-build.json
rc=$?
cat judger-build.json
exit $rc
