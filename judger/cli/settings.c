/* One settings path for every command (see settings.h). */
#include "cli/settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/source.h"
#include "common/error.h"
#include "common/util.h"

extern char **environ;

#define KIND_STR "string"
#define KIND_INT "integer"
#define KIND_I64 "integer"
#define KIND_MS "duration"
#define KIND_SIZE "size"
#define KIND_BOOL "boolean"

const jd_setting jd_settings[] = {
#define SETTING_ROW(key, kind, field, lo, hi, dflt, used_by, flag_of, help)                        \
  {#key, KIND_##kind, dflt, JD_CMDS_##used_by, JD_CMDS_##flag_of, help},
    JD_CONFIG_MAP(SETTING_ROW)
#undef SETTING_ROW
};
const size_t jd_settings_count = sizeof jd_settings / sizeof jd_settings[0];

static const char *const command_names[] = {
#define COMMAND_NAME(code, name) name,
    JD_CLI_COMMAND_MAP(COMMAND_NAME)
#undef COMMAND_NAME
};

/* "lease-ms" and "LEASE_MS" name the key "lease_ms". */
static void norm_key(char *out, size_t n, const char *key) {
  size_t i = 0;
  for (; key[i] && i + 1 < n; i++)
    out[i] = key[i] == '-' ? '_' : (char)tolower((unsigned char)key[i]);
  out[i] = '\0';
}

const jd_setting *jd_setting_find(const char *name) {
  char k[64];
  norm_key(k, sizeof k, name);
  for (size_t i = 0; i < jd_settings_count; i++)
    if (!strcmp(jd_settings[i].key, k))
      return &jd_settings[i];
  return NULL;
}

/* ---- the layers --------------------------------------------------------- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

/* One `key = value` line (comment cut, not blank) into c. */
static int file_line(jd_config *c, char *s, const char *path, int lineno, char *err,
                     size_t errlen) {
  char *eq = strchr(s, '=');
  if (!eq)
    return jd_fail(err, errlen, "%s:%d: expected key = value", path, lineno);
  *eq = '\0';
  char *key = trim(s), *value = trim(eq + 1);
  /* Quotes are allowed around values with spaces. */
  size_t vn = strlen(value);
  if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
    value[vn - 1] = '\0';
    value++;
  }
  char why[256];
  if (jd_config_set(c, key, value, why, sizeof why))
    return jd_fail(err, errlen, "%s:%d: %s", path, lineno, why);
  return 0;
}

static int load_file(jd_config *c, const char *path, char *err, size_t errlen) {
  char *data = NULL;
  if (jd_read_file(&data, NULL, path, 1 << 20))
    return jd_fail(err, errlen, "%s: %s", path, strerror(errno));
  int rc = 0, lineno = 0;
  /* strsep, not strtok_r: blank lines are lines too, or the line numbers in
   * the messages drift after the first one. */
  char *rest = data;
  while (rest && !rc) {
    char *line = strsep(&rest, "\n");
    lineno++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    char *s = trim(line);
    if (*s)
      rc = file_line(c, s, path, lineno, err, errlen);
  }
  free(data);
  free(c->config_file);
  c->config_file = rc ? NULL : strdup(path);
  if (!rc && !c->config_file)
    rc = jd_fail(err, errlen, "out of memory");
  return rc;
}

static const char *env_get(char *const *envp, const char *name) {
  size_t len = strlen(name);
  for (char *const *e = envp; e && *e; e++)
    if (!strncmp(*e, name, len) && (*e)[len] == '=')
      return *e + len + 1;
  return NULL;
}

/* Applies every JUDGER_<KEY> found in envp. */
static int load_env(jd_config *c, char *const *envp, char *err, size_t errlen) {
  for (size_t i = 0; i < jd_settings_count; i++) {
    char name[80];
    int n = snprintf(name, sizeof name, "JUDGER_%s", jd_settings[i].key);
    for (int j = 7; j < n; j++)
      name[j] = (char)toupper((unsigned char)name[j]);
    const char *value = env_get(envp, name);
    char why[256];
    if (value && jd_config_set(c, jd_settings[i].key, value, why, sizeof why))
      return jd_fail(err, errlen, "%s: %s", name, why);
  }
  return 0;
}

/* A flag's value refused: "--lease-ms: expected a duration...", the flag
 * named the way it was typed rather than as the file's key. */
static int flag_fail(const char *key, const char *why, char *err, size_t errlen) {
  const jd_setting *s = jd_setting_find(key);
  char flag[64];
  snprintf(flag, sizeof flag, "%s", s ? s->key : key);
  size_t n = strlen(flag);
  if (!strncmp(why, flag, n) && why[n] == ':')
    why += n + 1 + (why[n + 1] == ' ');
  for (char *p = flag; *p; p++)
    if (*p == '_')
      *p = '-';
  return jd_fail(err, errlen, "--%s: %s", flag, why);
}

int jd_settings_load(jd_config *out, const jd_settings_source *src, char *err, size_t errlen) {
  jd_settings_source none = {0};
  if (!src)
    src = &none;
  char *const *envp = src->envp ? src->envp : environ;
  if (jd_config_defaults(out))
    return jd_fail(err, errlen, "out of memory");
  const char *file = src->file;
  if (!file) {
    file = env_get(envp, "JUDGER_CONFIG");
    if (file && !*file)
      file = NULL;
  }
  if (!file && access(JD_SETTINGS_FILE_DEFAULT, R_OK) == 0)
    file = JD_SETTINGS_FILE_DEFAULT;
  int rc = file ? load_file(out, file, err, errlen) : 0;
  if (!rc)
    rc = load_env(out, envp, err, errlen);
  for (const char *const *f = src->flags; !rc && f && f[0] && f[1]; f += 2) {
    char why[256];
    if (jd_config_set(out, f[0], f[1], why, sizeof why))
      rc = flag_fail(f[0], why, err, errlen);
  }
  if (!rc)
    rc = jd_config_finish(out, err, errlen);
  if (rc)
    jd_config_clear(out);
  return rc;
}

void jd_settings_git_hook_env(jd_git_hook_env *out, char *const *envp) {
  if (!envp)
    envp = environ;
  out->quarantine_path = env_get(envp, "GIT_QUARANTINE_PATH");
  out->object_dir = env_get(envp, "GIT_OBJECT_DIRECTORY");
}

void jd_settings_git_hook(char *const *envp) {
  jd_git_hook_env g;
  jd_settings_git_hook_env(&g, envp);
  jd_source_git_hook(g.quarantine_path, g.object_dir);
}

void jd_settings_ctx(jd_ctx *ctx, const jd_config *settings, bool match) {
  ctx->state_dir = settings->state_dir;
  ctx->host_id = settings->host_id;
  if (match) {
    ctx->net_pool = settings->net_pool;
    jd_config_cores(ctx, settings);
    ctx->build_jobs = settings->build_jobs;
  }
  jd_config_policy(&ctx->policy, settings);
  ctx->base_images = settings->base_images;
  /* Checked when the settings were read (daemon/config.c). */
  (void)jd_engine_accept_parse(&ctx->engine_accept, settings->engine_accept, NULL, 0);
  ctx->build_allow = settings->build_allow;
  ctx->debian_mirror = settings->debian_mirror;
  jd_settings_git_hook(NULL); /* inside a pre-receive hook: docs/ci-hook.md */
}

/* ---- the table ---------------------------------------------------------- */

static void print_commands(FILE *f, unsigned bits) {
  const char *sep = "";
  for (size_t i = 0; i < JD_CMD_BIT_COUNT; i++)
    if (bits & (1u << i)) {
      fprintf(f, "%s%s", sep, command_names[i]);
      sep = ", ";
    }
}

static void print_row(FILE *f, const jd_setting *s) {
  char name[80];
  snprintf(name, sizeof name, "%s", s->key);
  fprintf(f, "| `%s` | `JUDGER_", name);
  for (char *p = name; *p; p++)
    fputc(toupper((unsigned char)*p), f);
  for (char *p = name; *p; p++)
    if (*p == '_')
      *p = '-';
  fprintf(f, "` | `--%s`", name);
  if (s->flag_of != s->used_by) {
    fprintf(f, " (");
    print_commands(f, s->flag_of);
    fprintf(f, ")");
  }
  fprintf(f, " | %s | ", s->kind);
  if (s->dflt)
    fprintf(f, *s->dflt ? "`%s`" : "`\"\"`", s->dflt);
  fprintf(f, " | ");
  print_commands(f, s->used_by);
  fprintf(f, " | %s |\n", s->help);
}

void jd_settings_print_table(FILE *f) {
  fprintf(f, "| key | environment | flag | type | default | used by | |\n"
             "|---|---|---|---|---|---|---|\n");
  fprintf(f, "| | `JUDGER_CONFIG` | `--config` | path | `" JD_SETTINGS_FILE_DEFAULT "` "
             "(when it exists) | ");
  print_commands(f, JD_CMDS_DRBG | JD_CMDS_DQ | JD_CMD_DOCTOR);
  fprintf(f, " | the config file (`key = value` lines) |\n");
  for (size_t i = 0; i < jd_settings_count; i++)
    print_row(f, &jd_settings[i]);
}
