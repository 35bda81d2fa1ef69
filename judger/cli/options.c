/* The options the queue commands share (see options.h). */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

const char *const jd_config_queue_keys[] = {"redis", "prefix", NULL};

int jd_config_opts_init(jd_config_opts *o, int argc) {
  memset(o, 0, sizeof *o);
  size_t n = argc > 0 ? (size_t)argc : 0;
  /* At most one setting per argument: two entries each, and the NULL. */
  o->flags = calloc(n * 2 + 2, sizeof *o->flags);
  o->keys = calloc(n + 1, sizeof *o->keys);
  if (!o->flags || !o->keys) {
    jd_config_opts_free(o);
    return -1;
  }
  return 0;
}

void jd_config_opts_free(jd_config_opts *o) {
  for (size_t i = 0; o->keys && i < o->nkeys; i++)
    free(o->keys[i]);
  free(o->keys);
  free(o->flags);
  memset(o, 0, sizeof *o);
}

static bool key_allowed(const char *key, const char *const *only) {
  if (!only)
    return jd_config_key_known(key);
  for (; *only; only++)
    if (!strcmp(key, *only))
      return true;
  return false;
}

int jd_config_opts_take(bool *taken, jd_config_opts *o, int argc, char **argv, int *i,
                        const char *const *only, char *err, size_t errlen) {
  *taken = false;
  const char *a = argv[*i];
  if (strncmp(a, "--", 2) || !a[2])
    return 0;
  const char *eq = strchr(a, '=');
  char *key = eq ? strndup(a + 2, (size_t)(eq - a - 2)) : strdup(a + 2);
  if (!key)
    return jd_fail(err, errlen, "out of memory");
  bool is_file = !strcmp(key, "config");
  if (!is_file && !key_allowed(key, only)) {
    free(key);
    return 0;
  }
  const char *value = eq ? eq + 1 : *i + 1 < argc ? argv[*i + 1] : NULL;
  if (!value) {
    free(key);
    return jd_fail(err, errlen, "%s needs a value", a);
  }
  if (!eq)
    ++*i;
  *taken = true;
  if (is_file) {
    o->file = value;
    free(key);
    return 0;
  }
  o->keys[o->nkeys++] = key;
  o->flags[o->nflags++] = key;
  o->flags[o->nflags++] = value;
  return 0;
}

int jd_cli_take_option(bool *taken, int *code, jd_config_opts *o, const char *cmd,
                       void (*usage)(FILE *), int argc, char **argv, int *i,
                       const char *const *only) {
  *taken = false;
  if (!strcmp(argv[*i], "--help") || !strcmp(argv[*i], "-h")) {
    usage(stdout);
    *code = JD_EXIT_OK;
    return -1;
  }
  char err[512];
  if (jd_config_opts_take(taken, o, argc, argv, i, only, err, sizeof err)) {
    fprintf(stderr, "judger %s: %s\n", cmd, err);
    *code = JD_EXIT_USAGE;
    return -1;
  }
  return 0;
}

int jd_config_opts_load(jd_config *out, const jd_config_opts *o, char *err, size_t errlen) {
  jd_config_source src = {.file = o->file, .flags = o->flags};
  return jd_config_load(out, &src, err, errlen);
}

int jd_cli_bad_option(const char *cmd, const char *arg, void (*usage)(FILE *)) {
  fprintf(stderr, "judger %s: unknown or incomplete option '%s'\n", cmd, arg);
  usage(stderr);
  return JD_EXIT_USAGE;
}

int jd_cli_bad_argument(const char *cmd, const char *arg, void (*usage)(FILE *)) {
  fprintf(stderr, "judger %s: unexpected argument '%s'\n", cmd, arg);
  usage(stderr);
  return JD_EXIT_USAGE;
}

int jd_cli_count(long long *out, const char *cmd, const char *opt, const char *value,
                 long long max) {
  char *end = NULL;
  errno = 0;
  long long v = value && isdigit((unsigned char)*value) ? strtoll(value, &end, 10) : -1;
  if (v < 0 || errno || *end || v > max) {
    fprintf(stderr, "judger %s: %s: a whole number from 0 to %lld, not '%s'\n", cmd, opt, max,
            value ? value : "");
    return -1;
  }
  *out = v;
  return 0;
}

int jd_cli_seconds(double *out, const char *cmd, const char *opt, const char *value, double max) {
  char *end = NULL;
  errno = 0;
  double v = value && isdigit((unsigned char)*value) ? strtod(value, &end) : -1;
  if (v < 0 || errno || *end || !isfinite(v) || v > max) {
    fprintf(stderr, "judger %s: %s: a number of seconds from 0 to %g, not '%s'\n", cmd, opt, max,
            value ? value : "");
    return -1;
  }
  *out = v;
  return 0;
}

bool jd_cli_host_take(jd_cli_host *h, int c, const char *arg) {
  if (c == JD_CLI_OPT_HOST_ID)
    h->host_id = arg;
  else if (c == JD_CLI_OPT_STATE_DIR)
    h->state_dir = arg;
  else
    return false;
  return true;
}

int jd_cli_settings(jd_policy *policy, jd_config *cfg, const char *cmd, const jd_cli_host *h) {
  char err[512];
  /* The flags are the top layer of the daemon's own precedence. */
  const char *flags[5] = {NULL};
  size_t n = 0;
  if (h && h->host_id) {
    flags[n++] = "host_id";
    flags[n++] = h->host_id;
  }
  if (h && h->state_dir) {
    flags[n++] = "state_dir";
    flags[n++] = h->state_dir;
  }
  jd_config_source src = {.flags = flags};
  memset(policy, 0, sizeof *policy);
  if (jd_config_load(cfg, &src, err, sizeof err)) {
    fprintf(stderr, "judger %s: settings: %s\n", cmd, err);
    return -1;
  }
  jd_config_policy(policy, cfg);
  return 0;
}

int jd_cli_policy(jd_policy *out, jd_config *cfg, const char *cmd) {
  return jd_cli_settings(out, cfg, cmd, NULL);
}
