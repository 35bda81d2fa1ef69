/* The daemon's settings and their precedence (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/build_request.h"
#include "build/dockerfile.h"
#include "common/context.h"
#include "common/error.h"
#include "common/size.h"
#include "common/util.h"
#include "daemon/config.h"
#include "daemon/metrics_http.h"
#include "match/match_spec.h"

extern char **environ;

#define DEFAULT_CONFIG_FILE "/etc/judger/judger.conf"

typedef enum { K_STR, K_INT, K_I64, K_MS, K_SIZE, K_BOOL } kind;

typedef struct key_def {
  const char *name;
  kind kind;
  size_t off;
  int64_t lo, hi; /* for numbers */
} key_def;

#define F(field) offsetof(jd_config, field)
static const key_def keys[] = {
    {"redis", K_STR, F(redis), 0, 0},
    {"slots", K_INT, F(slots), 1, 256},
    {"host_id", K_STR, F(host_id), 0, 0},
    {"state_dir", K_STR, F(state_dir), 0, 0},
    {"out_dir", K_STR, F(out_dir), 0, 0},
    {"prefix", K_STR, F(prefix), 0, 0},
    {"group", K_STR, F(group), 0, 0},
    {"labels", K_STR, F(labels), 0, 0},
    {"lease_ms", K_MS, F(lease_ms), 200, 86400000},
    {"grace_ms", K_MS, F(grace_ms), 0, 86400000},
    {"stall_ms", K_MS, F(stall_ms), 0, 86400000},
    {"block_ms", K_MS, F(block_ms), 10, 60000},
    {"max_attempts", K_INT, F(max_attempts), 1, 100},
    {"upload_retries", K_INT, F(upload_retries), 1, 100},
    {"upload_timeout_ms", K_MS, F(upload_timeout_ms), 100, 86400000},
    {"reap_dead_hosts", K_BOOL, F(reap_dead_hosts), 0, 0},
    {"reconcile_ms", K_MS, F(reconcile_ms), 0, 86400000},
    {"reconcile_grace_ms", K_MS, F(reconcile_grace_ms), 100, 3600000},
    {"entry_max_bytes", K_SIZE, F(entry_max_bytes), 1024, (int64_t)1 << 30},
    {"entry_max_depth", K_INT, F(entry_max_depth), 1, 100000},
    {"log_level", K_STR, F(log_level), 0, 0},
    {"log_json", K_BOOL, F(log_json), 0, 0},
    {"net_pool", K_STR, F(net_pool), 0, 0},
    {"disk_low", K_SIZE, F(disk_low), 0, (int64_t)1 << 50},
    {"disk_high", K_SIZE, F(disk_high), 0, (int64_t)1 << 50},
    {"disk_low_inodes", K_INT, F(disk_low_inodes), 0, 100},
    {"disk_high_inodes", K_INT, F(disk_high_inodes), 0, 100},
    {"guard_ms", K_MS, F(guard_ms), 100, 3600000},
    {"engine_root", K_STR, F(engine_root), 0, 0},
    {"metrics_listen", K_STR, F(metrics_listen), 0, 0},
    {"build_jobs", K_INT, F(build_jobs), 0, 17},
    {"warm", K_BOOL, F(warm), 0, 0},
    /* What a task may ask of this host (common/policy.h). */
    {"program_roots", K_STR, F(program_roots), 0, 0},
    {"allow_root_user", K_BOOL, F(allow_root_user), 0, 0},
    {"build_networks", K_STR, F(build_networks), 0, 0},
    {"git_schemes", K_STR, F(git_schemes), 0, 0},
    {"fetch_private", K_BOOL, F(fetch_private), 0, 0},
    {"base_images", K_STR, F(base_images), 0, 0},
    {"max_cpus", K_I64, F(ceiling[JD_CEIL_CPUS]), 1, JD_BUILD_CPUS_MAX},
    {"max_memory", K_SIZE, F(ceiling[JD_CEIL_MEMORY]), 6 << 20, (int64_t)1 << 42},
    {"max_pids", K_I64, F(ceiling[JD_CEIL_PIDS]), 1, 1 << 22},
    {"max_tmpfs", K_SIZE, F(ceiling[JD_CEIL_TMPFS]), 1 << 20, (int64_t)1 << 40},
    {"max_log", K_SIZE, F(ceiling[JD_CEIL_LOG]), 1024, (int64_t)1 << 40},
    {"max_out", K_SIZE, F(ceiling[JD_CEIL_OUT]), 0, (int64_t)1 << 40},
    {"max_wall_ms", K_MS, F(ceiling[JD_CEIL_WALL_MS]), 1000, (int64_t)7 * 24 * 3600 * 1000},
    {"max_deadline_ms", K_MS, F(ceiling[JD_CEIL_DEADLINE_MS]), 1000, (int64_t)7 * 24 * 3600 * 1000},
    {"max_instances", K_I64, F(ceiling[JD_CEIL_INSTANCES]), 1, 10000},
    {"max_players", K_I64, F(ceiling[JD_CEIL_PLAYERS]), 1, JD_MATCH_MAX_AIS},
    {"max_concurrent", K_I64, F(ceiling[JD_CEIL_CONCURRENT]), 1, 256},
    {"max_starts_per_sec", K_I64, F(ceiling[JD_CEIL_STARTS_PER_SEC]), 1, 10000},
    {"max_line", K_SIZE, F(ceiling[JD_CEIL_LINE]), 256, 16 << 20},
    {"max_end_grace_ms", K_MS, F(ceiling[JD_CEIL_END_GRACE_MS]), 0, 600 * 1000},
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
  char host[JD_HOST_ID_MAX + 1];
  jd_host_id(host);
  c->slots = 1;
  c->lease_ms = 30000;
  c->grace_ms = 60000;
  c->stall_ms = 0;
  c->block_ms = 2000;
  c->max_attempts = 3;
  c->upload_retries = 5;
  c->upload_timeout_ms = 300000;
  c->reap_dead_hosts = true;
  c->warm = true;
  c->reconcile_ms = 60000;
  c->reconcile_grace_ms = 5000;
  c->entry_max_bytes = (int64_t)JD_ENTRY_MAX_BYTES_DEFAULT;
  c->entry_max_depth = JD_TASK_MAX_DEPTH_DEFAULT;
  c->disk_low = (int64_t)1 << 30;
  c->disk_high = (int64_t)2 << 30;
  c->disk_low_inodes = 2;
  c->disk_high_inodes = 5;
  c->guard_ms = 5000;
  if (set_str(&c->redis, "redis://127.0.0.1:6379/0") || set_str(&c->host_id, host) ||
      set_str(&c->state_dir, JD_STATE_DIR_DEFAULT) || set_str(&c->prefix, "judger") ||
      set_str(&c->group, "judgers") || set_str(&c->labels, "") || set_str(&c->log_level, "info") ||
      set_str(&c->net_pool, JD_NET_POOL_DEFAULT) || set_str(&c->engine_root, "auto") ||
      set_str(&c->metrics_listen, "")) {
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
    if (policy_value_check(k->name, value, err, errlen))
      return -1;
    if (!strcmp(k->name, "base_images") && jd_base_images_check(value, err, errlen))
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

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

static int load_file(jd_config *c, const char *path, char *err, size_t errlen) {
  char *data = NULL;
  if (jd_read_file(&data, NULL, path, 1 << 20))
    return jd_fail(err, errlen, "%s: %s", path, strerror(errno));
  int rc = 0, lineno = 0;
  /* strsep, not strtok_r: blank lines are lines too, or the line numbers in
   * the messages drift after the first one. */
  char *rest = data;
  while (rest) {
    char *line = strsep(&rest, "\n");
    lineno++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    char *s = trim(line);
    if (!*s)
      continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = jd_fail(err, errlen, "%s:%d: expected key = value", path, lineno);
      break;
    }
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    /* Quotes are allowed around values with spaces. */
    size_t vn = strlen(value);
    if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
      value[vn - 1] = '\0';
      value++;
    }
    char why[256];
    if (jd_config_set(c, key, value, why, sizeof why)) {
      rc = jd_fail(err, errlen, "%s:%d: %s", path, lineno, why);
      break;
    }
  }
  free(data);
  if (!rc && set_str(&c->config_file, path))
    rc = jd_fail(err, errlen, "out of memory");
  return rc;
}

/* Applies every JUDGER_<KEY> found in envp (NULL = environ). */
static int load_env(jd_config *c, char *const *envp, char *err, size_t errlen) {
  if (!envp)
    envp = environ;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    char name[80];
    int n = snprintf(name, sizeof name, "JUDGER_%s", keys[i].name);
    for (int j = 7; j < n; j++)
      name[j] = (char)toupper((unsigned char)name[j]);
    size_t len = strlen(name);
    for (char *const *e = envp; e && *e; e++) {
      if (strncmp(*e, name, len) || (*e)[len] != '=')
        continue;
      char why[256];
      if (jd_config_set(c, keys[i].name, *e + len + 1, why, sizeof why))
        return jd_fail(err, errlen, "%s: %s", name, why);
    }
  }
  return 0;
}

static const char *env_get(char *const *envp, const char *name) {
  if (!envp)
    return getenv(name);
  size_t len = strlen(name);
  for (char *const *e = envp; *e; e++)
    if (!strncmp(*e, name, len) && (*e)[len] == '=')
      return *e + len + 1;
  return NULL;
}

int jd_config_load(jd_config *out, const jd_config_source *src, char *err, size_t errlen) {
  jd_config_source none = {0};
  if (!src)
    src = &none;
  if (jd_config_defaults(out))
    return jd_fail(err, errlen, "out of memory");
  /* JUDGER_STATE_DIR is also what the other commands honour. */
  const char *file = src->file;
  if (!file) {
    file = env_get(src->envp, "JUDGER_CONFIG");
    if (file && !*file)
      file = NULL;
  }
  if (!file && access(DEFAULT_CONFIG_FILE, R_OK) == 0)
    file = DEFAULT_CONFIG_FILE;
  if (file && load_file(out, file, err, errlen))
    goto fail;
  if (load_env(out, src->envp, err, errlen))
    goto fail;
  for (const char *const *f = src->flags; f && f[0] && f[1]; f += 2)
    if (jd_config_set(out, f[0], f[1], err, errlen))
      goto fail;
  /* A relative state dir would reach the engine as a volume name. */
  char state[4096];
  if (jd_state_dir_abs(state, sizeof state, out->state_dir) || set_str(&out->state_dir, state)) {
    jd_fail(err, errlen, "state_dir: the path is too long or the working directory unknown");
    goto fail;
  }
  /* A high mark under its low one would resume while still low. */
  if (out->disk_high < out->disk_low) {
    jd_fail(err, errlen, "disk_high: must not be below disk_low");
    goto fail;
  }
  if (out->disk_high_inodes < out->disk_low_inodes) {
    jd_fail(err, errlen, "disk_high_inodes: must not be below disk_low_inodes");
    goto fail;
  }
  return 0;
fail:
  jd_config_clear(out);
  return -1;
}
