/* Build requests as users give them: the flags of `judger build` and the
 * "build" object of a daemon task. Both fill a jd_build_fields through the
 * same setters and pass the same check, so a rule (a ref needs a git
 * source, a limit must be positive...) is written once and holds for both.
 * Messages name the field the way its origin spells it: "--ref needs --git"
 * for the command, "build.ref needs build.git" for a task.
 */
#ifndef JD_BUILD_REQUEST_H
#define JD_BUILD_REQUEST_H

#include <stddef.h>

#include "build/build.h"

struct json_object;

/* Each field of a request: its flag, and its key in a task's "build" object. */
#define JD_BUILD_FIELD_MAP(XX)                                                                     \
  XX(DOMAIN, "--domain", "domain")                                                                 \
  XX(ID, "--id", "id")                                                                             \
  XX(DIR, "--source", "dir")                                                                       \
  XX(GIT, "--git", "git")                                                                          \
  XX(REF, "--ref", "ref")                                                                          \
  XX(TAR, "--tar", "tar_url")                                                                      \
  XX(OPS, "--op", "ops")                                                                           \
  XX(CPUS, "--cpus", "limits.cpus")                                                                \
  XX(MEMORY, "--memory", "limits.memory")                                                          \
  XX(PIDS, "--pids", "limits.pids")                                                                \
  XX(WALL, "--timeout", "limits.wall_ms")                                                          \
  XX(LOG_MAX, "--log-max", "limits.log_max")                                                       \
  XX(NETWORK, "--network", "limits.network")                                                       \
  XX(IMAGE_NETWORK, "--image-network", "limits.image_network")

typedef enum jd_build_field {
#define JD_BUILD_FIELD_ENUM(code, flag, key) JD_BUILD_FIELD_##code,
  JD_BUILD_FIELD_MAP(JD_BUILD_FIELD_ENUM)
#undef JD_BUILD_FIELD_ENUM
      JD_BUILD_FIELD_COUNT
} jd_build_field;

/* Where the request comes from, i.e. how messages name its fields. */
typedef enum jd_build_syntax {
  JD_BUILD_SYNTAX_FLAGS, /* "--ref" */
  JD_BUILD_SYNTAX_TASK,  /* "build.ref" */
} jd_build_syntax;

/* A request being filled in. Strings point into the caller's text (argv,
 * the task's JSON), which must outlive the request. */
typedef struct jd_build_fields {
  jd_build_request req;
  bool domain_given; /* req.ref.domain's zero value is a domain too */
  jd_build_syntax syntax;
} jd_build_fields;

void jd_build_fields_init(jd_build_fields *f, jd_build_syntax syntax);

/* How a field is named in messages: "--ref" or "build.ref". */
const char *jd_build_field_name(jd_build_syntax syntax, jd_build_field field);

/* The most CPUs a request may give, whatever the host's policy: the value
 * becomes a quota in microseconds per 100 ms. */
#define JD_BUILD_CPUS_MAX 1024

/* Sets one field from its text, as the flag takes it: DOMAIN "ai" or
 * "game_logic"; OPS "build", "run" or "all"; CPUS a number; MEMORY and
 * LOG_MAX a size (jd_parse_size: "512m", "1.5g"); PIDS an integer; WALL
 * seconds (--timeout); NETWORK takes no text; the others are kept as
 * given. Every limit must be more than 0 (0 would silently mean the
 * default). -1 with the reason in err, naming the field. */
int jd_build_fields_set(jd_build_fields *f, jd_build_field field, const char *text, char *err,
                        size_t errlen);

/* Every rule of a whole request: a domain, a valid program id
 * (jd_program_id_check), exactly one source, a ref only with a git source,
 * known ops, no negative limit. 0, or -1 with the first broken rule in err. */
int jd_build_request_check(const jd_build_fields *f, char *err, size_t errlen);

/* Parses a task's "build" object into *out and checks it as above. Every
 * field of the wrong JSON type is an error naming it; sizes (memory,
 * log_max) are a number of bytes or a size string. Unknown keys are
 * ignored. *out's strings point into o, which must outlive it. 0 or -1
 * with the reason in err. */
int jd_build_request_parse(jd_build_request *out, struct json_object *o, char *err, size_t errlen);

#endif
