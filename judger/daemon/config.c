/* The daemon's settings and their precedence (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_request.h"
#include "build/dockerfile.h"
#include "common/context.h"
#include "common/error.h"
#include "common/size.h"
#include "common/util.h"
#include "daemon/config.h"
#include "daemon/metrics_http.h"
#include "match/cpu_pool.h"
#include "match/match_spec.h"

/* The longest cgroup_root (a mount point, under PATH_MAX with what is
 * joined to it). */
#define CGROUP_ROOT_MAX 512

typedef enum { K_STR, K_INT, K_I64, K_MS, K_SIZE, K_BOOL } kind;

typedef struct key_def {
  const char *name;
  kind kind;
  size_t off;
  int64_t lo, hi;   /* for numbers */
  const char *dflt; /* the default as text, or NULL */
} key_def;

#define F(field) offsetof(jd_config, field)
static const key_def keys[] = {
#define KEY_DEF(key, kind, field, lo, hi, dflt, used_by, flag_of, help)                            \
  {#key, K_##kind, F(field), lo, hi, dflt},
    JD_CONFIG_MAP(KEY_DEF)
#undef KEY_DEF
};
#undef F

/* "lease-ms" and "LEASE_MS" name the same key as "lease_ms". */
static void norm_key(char *out, size_t n, const char *key) {
  size_t i = 0;
  for (; key[i] && i + 1 < n; i++)
    out[i] = key[i] == '-' ? '_' : (char)tolower((unsigned char)key[i]);
  out[i] = '\0';
}

static const key_def *find_key(const char *key) {
  char k[64];
  norm_key(k, sizeof k, key);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (!strcmp(keys[i].name, k))
      return &keys[i];
  return NULL;
}

bool jd_config_key_known(const char *key) { return find_key(key) != NULL; }

/* The log levels a config may name; the first is the default. */
static const struct {
  const char *name;
  jd_log_level level;
} log_levels[] = {
    {"info", JD_LOG_INFO},
    {"debug", JD_LOG_DEBUG},
    {"warn", JD_LOG_WARN},
    {"error", JD_LOG_ERROR},
};

static bool log_level_of(jd_log_level *out, const char *name) {
  for (size_t i = 0; name && i < sizeof log_levels / sizeof log_levels[0]; i++)
    if (!strcmp(name, log_levels[i].name)) {
      *out = log_levels[i].level;
      return true;
    }
  return false;
}

jd_log_level jd_config_log_level(const jd_config *c) {
  jd_log_level level = JD_LOG_INFO;
  log_level_of(&level, c->log_level);
  return level;
}

static int set_str(char **slot, const char *v) {
  char *s = strdup(v);
  if (!s)
    return -1;
  free(*slot);
  *slot = s;
  return 0;
}

int jd_config_defaults(jd_config *c) {
  memset(c, 0, sizeof *c);
  char host[JD_HOST_ID_MAX + 1], err[256];
  jd_host_id(host);
  if (set_str(&c->host_id, host)) {
    jd_config_clear(c);
    return -1;
  }
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (keys[i].dflt && jd_config_set(c, keys[i].name, keys[i].dflt, err, sizeof err)) {
      jd_config_clear(c);
      return -1;
    }
  return 0;
}

void jd_config_clear(jd_config *c) {
  if (!c)
    return;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (keys[i].kind == K_STR)
      free(*(char **)((char *)c + keys[i].off));
  free(c->config_file);
  memset(c, 0, sizeof *c);
}

int jd_config_copy(jd_config *dst, const jd_config *src) {
  *dst = *src;
  int rc = 0;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (keys[i].kind != K_STR)
      continue;
    const char *from = *(char *const *)((const char *)src + keys[i].off);
    char **slot = (char **)((char *)dst + keys[i].off);
    *slot = from ? strdup(from) : NULL;
    if (from && !*slot)
      rc = -1;
  }
  dst->config_file = src->config_file ? strdup(src->config_file) : NULL;
  if (src->config_file && !dst->config_file)
    rc = -1;
  if (rc)
    jd_config_clear(dst);
  return rc;
}

/* "1500", "1500ms", "2s", "1m" -> milliseconds. */
static int parse_ms(const char *v, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || end == v || n < 0)
    return -1;
  int64_t mul = 1;
  if (!strcmp(end, "") || !strcmp(end, "ms"))
    mul = 1;
  else if (!strcmp(end, "s"))
    mul = 1000;
  else if (!strcmp(end, "m"))
    mul = 60000;
  else
    return -1;
  *out = (int64_t)n * mul;
  return 0;
}

static int parse_bool(const char *v, bool *out) {
  if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
    *out = true;
  else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
           !strcasecmp(v, "off"))
    *out = false;
  else
    return -1;
  return 0;
}

/* The policy's lists, checked when set: a typo must not open or close a
 * door silently. */
static int policy_value_check(const char *key, const char *value, char *err, size_t errlen) {
  static const char *const schemes[] = {"https", "ssh", "http", "git", "file", NULL};
  bool roots = !strcmp(key, "program_roots"), nets = !strcmp(key, "build_networks"),
       git = !strcmp(key, "git_schemes");
  if (!roots && !nets && !git)
    return 0;
  for (const char *p = value; *p;) {
    while (*p == ',' || *p == ' ')
      p++;
    size_t n = strcspn(p, ",");
    size_t k = n;
    while (k && p[k - 1] == ' ')
      k--;
    if (!k)
      break;
    if (roots && p[0] != '/')
      return jd_fail(err, errlen, "program_roots: '%.*s' is not an absolute path", (int)k, p);
    if (nets && ((k == 4 && !strncmp(p, "host", 4)) || !strncmp(p, "container:", 10)))
      return jd_fail(err, errlen, "build_networks: '%.*s' is never allowed", (int)k, p);
    bool known = !git;
    for (size_t i = 0; git && schemes[i]; i++)
      known = known || (strlen(schemes[i]) == k && !strncmp(p, schemes[i], k));
    if (!known)
      return jd_fail(err, errlen, "git_schemes: '%.*s' is not one of https, ssh, http, git, file",
                     (int)k, p);
    p += n;
  }
  return 0;
}

/* The three settings of a match's cores and clocks (jd_ctx's fields). */
static int cores_value_check(const char *name, const char *value, char *err, size_t errlen) {
  if (!strcmp(name, "cpu_pool") && *value) {
    jd_cpu_list *l = malloc(sizeof *l);
    if (!l)
      return jd_fail(err, errlen, "out of memory");
    int rc = jd_cpu_list_parse(l, value, err, errlen);
    free(l);
    return rc;
  }
  if (!strcmp(name, "clock_backend") && strcmp(value, "auto") && strcmp(value, "api") &&
      strcmp(value, "cgroup"))
    return jd_fail(err, errlen, "clock_backend: auto, api or cgroup");
  if (!strcmp(name, "cgroup_root") &&
      (value[0] != '/' || strnlen(value, CGROUP_ROOT_MAX + 1) > CGROUP_ROOT_MAX))
    return jd_fail(err, errlen, "cgroup_root: an absolute path of at most %d chars",
                   CGROUP_ROOT_MAX);
  return 0;
}

void jd_config_cores(jd_ctx *ctx, const jd_config *c) {
  ctx->cpu_pool = c->cpu_pool && *c->cpu_pool ? c->cpu_pool : NULL;
  ctx->clock_backend = c->clock_backend;
  ctx->cgroup_root = c->cgroup_root;
  ctx->input_max_bytes = c->input_max_bytes;
  ctx->publish_max_bytes = c->publish_max_bytes;
}

void jd_config_policy(jd_policy *out, const jd_config *c) {
  memset(out, 0, sizeof *out);
  out->program_roots = c->program_roots;
  out->allow_root_user = c->allow_root_user;
  out->build_networks = c->build_networks;
  out->git_schemes = c->git_schemes;
  out->fetch_private = c->fetch_private;
  for (size_t i = 0; i < JD_CEIL_COUNT; i++)
    out->ceiling[i] = c->ceiling[i];
}

int jd_config_set(jd_config *c, const char *key, const char *value, char *err, size_t errlen) {
  const key_def *k = find_key(key);
  if (!k)
    return jd_fail(err, errlen, "unknown setting '%s'", key);
  void *slot = (char *)c + k->off;
  if (k->kind == K_STR) {
    if (!strcmp(k->name, "host_id") && !jd_is_safe_name(value, 64))
      return jd_fail(err, errlen, "host_id: lowercase [a-z0-9][a-z0-9_.-]*, at most 64 chars");
    struct sockaddr_storage addr;
    socklen_t alen;
    if (!strcmp(k->name, "metrics_listen") && *value &&
        jd_metrics_listen_parse(&addr, &alen, value, err, errlen))
      return -1;
    jd_log_level level;
    if (!strcmp(k->name, "log_level") && !log_level_of(&level, value))
      return jd_fail(err, errlen, "log_level: debug, info, warn or error");
    if (policy_value_check(k->name, value, err, errlen) ||
        cores_value_check(k->name, value, err, errlen))
      return -1;
    /* Its message names the setting already ("base_images: 'x': ..."). */
    if (!strcmp(k->name, "base_images") && jd_base_images_check(value, err, errlen))
      return -1;
    unsigned accept;
    if (!strcmp(k->name, "engine_accept") && jd_engine_accept_parse(&accept, value, err, errlen))
      return -1;
    if ((!strcmp(k->name, "redis") || !strcmp(k->name, "state_dir") || !strcmp(k->name, "prefix") ||
         !strcmp(k->name, "group")) &&
        !*value)
      return jd_fail(err, errlen, "%s: must not be empty", k->name);
    return set_str((char **)slot, value) ? jd_fail(err, errlen, "out of memory") : 0;
  }
  if (k->kind == K_BOOL)
    return parse_bool(value, (bool *)slot)
               ? jd_fail(err, errlen, "%s: expected true or false", k->name)
               : 0;
  int64_t n = 0;
  if (k->kind == K_MS) {
    if (parse_ms(value, &n))
      return jd_fail(err, errlen, "%s: expected a duration (1500, 1500ms, 2s, 1m)", k->name);
  } else if (k->kind == K_SIZE) {
    if (jd_parse_size(&n, value))
      return jd_fail(err, errlen, "%s: expected a size (1048576, 512k, 1m)", k->name);
  } else {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end)
      return jd_fail(err, errlen, "%s: expected an integer", k->name);
    n = v;
  }
  if (n < k->lo || n > k->hi)
    return jd_fail(err, errlen, "%s: must be from %lld to %lld", k->name, (long long)k->lo,
                   (long long)k->hi);
  if (k->kind == K_MS || k->kind == K_SIZE || k->kind == K_I64)
    *(int64_t *)slot = n;
  else
    *(int *)slot = (int)n;
  return 0;
}

int jd_config_finish(jd_config *c, char *err, size_t errlen) {
  char state[4096];
  if (jd_state_dir_abs(state, sizeof state, c->state_dir) || set_str(&c->state_dir, state))
    return jd_fail(err, errlen, "state_dir: the path is too long or the working directory unknown");
  /* A high mark under its low one would resume while still low. */
  if (c->disk_high < c->disk_low)
    return jd_fail(err, errlen, "disk_high: must not be below disk_low");
  if (c->disk_high_inodes < c->disk_low_inodes)
    return jd_fail(err, errlen, "disk_high_inodes: must not be below disk_low_inodes");
  return 0;
}
