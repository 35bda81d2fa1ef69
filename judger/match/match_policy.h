/* A match spec held to the host's policy (common/policy.h): what a task
 * may ask of this host, checked after the spec parsed and before anything
 * is built or created. */
#ifndef JD_MATCH_POLICY_H
#define JD_MATCH_POLICY_H

#include <stddef.h>

#include "common/policy.h"
#include "match/match_spec.h"

/* 0 when every program source, image, user and limit of s is allowed by
 * p; else -1 with one line naming the field and the setting in err.
 * state_dir: where the default program root is; base_images: the images
 * an image-only program may name besides the judger's builds of programs
 * (build/dockerfile.h jd_base_images()). */
int jd_match_spec_check_policy(const jd_match_spec *s, const jd_policy *p, const char *state_dir,
                               const char *base_images, char *err, size_t errlen);

#endif
