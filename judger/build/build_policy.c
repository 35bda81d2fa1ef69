/* A build request held to the host's policy (see build_policy.h). */
#include <stdio.h>

#include "common/error.h"

#include "build/build_policy.h"

int jd_build_request_check_policy(const jd_build_request *r, jd_build_syntax syntax,
                                  const jd_policy *p, const char *state_dir, char *err,
                                  size_t errlen) {
  char why[512];
#define NAME(field) jd_build_field_name(syntax, JD_BUILD_FIELD_##field)
  if (r->ref.dir && jd_policy_program_dir(p, state_dir, r->ref.dir, why, sizeof why))
    return jd_fail(err, errlen, "%s: %s", NAME(DIR), why);
  if (r->ref.git_url && jd_policy_git_url(p, r->ref.git_url, why, sizeof why))
    return jd_fail(err, errlen, "%s: %s", NAME(GIT), why);
  if (r->ref.tar_url && jd_policy_tar_url(p, r->ref.tar_url, why, sizeof why))
    return jd_fail(err, errlen, "%s: %s", NAME(TAR), why);
  if (jd_policy_build_network(p, r->limits.image_network, why, sizeof why))
    return jd_fail(err, errlen, "%s: %s", NAME(IMAGE_NETWORK), why);
  /* The limits the build will have: a field left out is its default, which
   * the host's ceiling holds too. */
  jd_build_limits lim;
  jd_build_limits_defaults(&lim, &r->limits);
  const jd_build_limits *l = &lim;
  if (l->cpus > (double)jd_policy_ceiling(p, JD_CEIL_CPUS))
    return jd_fail(err, errlen, "%s: %g is above this host's %s (%lld)", NAME(CPUS), l->cpus,
                   jd_ceiling_key(JD_CEIL_CPUS), (long long)jd_policy_ceiling(p, JD_CEIL_CPUS));
  if (jd_policy_check_ceiling(p, JD_CEIL_MEMORY, NAME(MEMORY), l->memory, err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_PIDS, NAME(PIDS), l->pids, err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_WALL_MS, NAME(WALL), l->wall_ms, err, errlen) ||
      jd_policy_check_ceiling(p, JD_CEIL_LOG, NAME(LOG_MAX), (int64_t)l->log_max, err, errlen))
    return -1;
#undef NAME
  return 0;
}
