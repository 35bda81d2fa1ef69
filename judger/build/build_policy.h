/* A build request held to the host's policy (common/policy.h): its
 * source, the network of its RUN steps and its limits, checked before the
 * build starts. */
#ifndef JD_BUILD_POLICY_H
#define JD_BUILD_POLICY_H

#include <stddef.h>

#include "build/build_request.h"
#include "common/policy.h"

/* 0 when r's source (dir under the program roots, git URL scheme), RUN
 * network and limits are allowed by p; else -1 with one line naming the
 * field (as syntax spells it) and the setting in err. */
int jd_build_request_check_policy(const jd_build_request *r, jd_build_syntax syntax,
                                  const jd_policy *p, const char *state_dir, char *err,
                                  size_t errlen);

#endif
