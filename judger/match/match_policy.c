/* A match spec held to the host's policy (see match_policy.h). */
#include <stdio.h>

#include "common/error.h"
#include <string.h>

#include "build/dockerfile.h"
#include "match/match_policy.h"

/* An environment image the judger built for a program: "<domain>-<id>-run"
 * with any tag (program.h jd_image_repo). Such images hold only what a
 * contestant's Dockerfile made from an admitted base. */
static bool program_run_image(const char *ref) {
  const char *rest = NULL;
  if (!strncmp(ref, "ai-", 3))
    rest = ref + 3;
  else if (!strncmp(ref, "game_logic-", 11))
    rest = ref + 11;
  if (!rest)
    return false;
  const char *colon = strchr(rest, ':');
  size_t n = colon ? (size_t)(colon - rest) : strlen(rest);
  return n > 4 && !memcmp(rest + n - 4, "-run", 4) && !memchr(rest, '/', n) &&
         !memchr(rest, '@', n);
}

static int program_allowed(const jd_match_program *prog, const char *where, const jd_policy *p,
                           const char *state_dir, const char *base_images, char *err,
                           size_t errlen) {
  char why[512];
  if (prog->dir && jd_policy_program_dir(p, state_dir, prog->dir, why, sizeof why))
    return jd_fail(err, errlen, "%s.dir: %s", where, why);
  if (prog->git_url && jd_policy_git_url(p, prog->git_url, why, sizeof why))
    return jd_fail(err, errlen, "%s.git: %s", where, why);
  if (prog->tar_url && jd_policy_tar_url(p, prog->tar_url, why, sizeof why))
    return jd_fail(err, errlen, "%s.tar_url: %s", where, why);
  if (prog->image && !program_run_image(prog->image) &&
      !jd_image_admitted(base_images, prog->image, why, sizeof why))
    return jd_fail(err, errlen,
                   "%s.image: '%s' is neither a program's run image nor admitted by the "
                   "setting base_images (%s)",
                   where, prog->image, why);
  return 0;
}

static int role_allowed(const jd_role_limits *l, const char *where, const jd_policy *p, char *err,
                        size_t errlen) {
  char f[160], why[512];
  if (l->cpus > (double)jd_policy_ceiling(p, JD_CEIL_CPUS))
    return jd_fail(err, errlen, "%s.cpus: %g is above this host's %s (%lld)", where, l->cpus,
                   jd_ceiling_key(JD_CEIL_CPUS), (long long)jd_policy_ceiling(p, JD_CEIL_CPUS));
  const struct {
    const char *name;
    jd_ceiling c;
    int64_t v;
  } nums[] = {
      {"memory", JD_CEIL_MEMORY, l->memory},    {"pids", JD_CEIL_PIDS, l->pids},
      {"tmpfs", JD_CEIL_TMPFS, l->tmpfs},       {"log_max", JD_CEIL_LOG, (int64_t)l->log_max},
      {"wall_ms", JD_CEIL_WALL_MS, l->wall_ms},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    snprintf(f, sizeof f, "%s.%s", where, nums[i].name);
    if (jd_policy_check_ceiling(p, nums[i].c, f, nums[i].v, err, errlen))
      return -1;
  }
  /* NULL: the judger's default, 65534:65534. */
  if (l->user && jd_policy_user(p, l->user, why, sizeof why))
    return jd_fail(err, errlen, "%s.user: %s", where, why);
  return 0;
}

int jd_match_spec_check_policy(const jd_match_spec *s, const jd_policy *p, const char *state_dir,
                               const char *base_images, char *err, size_t errlen) {
  char where[64];
  const jd_match_limits *l = &s->limits;
  if (jd_policy_check_ceiling(p, JD_CEIL_PLAYERS, "players", (int64_t)s->nplayers, err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_DEADLINE_MS, "limits.deadline_ms", l->deadline_ms, err,
                              errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_OUT, "limits.out_max", l->out_max, err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_INSTANCES, "limits.max_instances", l->max_instances, err,
                              errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_CONCURRENT, "limits.max_concurrent", l->max_concurrent,
                              err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_STARTS_PER_SEC, "limits.starts_per_sec", l->starts_per_sec,
                              err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_LINE, "limits.line_max", (int64_t)l->line_max, err,
                              errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_END_GRACE_MS, "limits.end_grace_ms", l->end_grace_ms, err,
                              errlen))
    return -1;
  /* Each program's source first: what it would read of the host matters
   * more than how long it may run. */
  if (program_allowed(&s->game_logic, "game_logic", p, state_dir, base_images, err, errlen) ||
      role_allowed(&l->game_logic, "limits.game_logic", p, err, errlen))
    return -1;
  for (size_t i = 0; i < s->nplayers; i++) {
    snprintf(where, sizeof where, "players[%zu]", i);
    if (program_allowed(&s->players[i], where, p, state_dir, base_images, err, errlen))
      return -1;
    snprintf(where, sizeof where, "players[%zu].limits", i);
    if (role_allowed(jd_match_player_limits(s, (int)i), where, p, err, errlen))
      return -1;
  }
  /* An input's URL is fetched by the judger as a tarball is (docs/match-spec.md
   * "Inputs"); fetch_private is checked on the address connected to. */
  char why[512];
  for (size_t i = 0; i < s->ninputs; i++)
    if (s->inputs[i].url && jd_policy_tar_url(p, s->inputs[i].url, why, sizeof why))
      return jd_fail(err, errlen, "inputs[%zu].url: %s", i, why);
  return 0;
}
