/* What every command's argument loop shares (see options.h). */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* getopt_long codes: --config, and a setting's index above the second. */
enum { OPT_CONFIG = 0x4000, OPT_SETTING };

int jd_cli_begin(jd_cli *cli, int argc, char **argv) {
  cli->argc = argc;
  cli->argv = argv;
  size_t n = argc > 0 ? (size_t)argc : 0;
  /* At most one setting per argument: two entries each, and the NULL. */
  cli->flags = calloc(n * 2 + 2, sizeof *cli->flags);
  return cli->flags ? 0 : -1;
}

void jd_cli_free(jd_cli *cli) {
  free(cli->flags);
  free(cli->options);
  free(cli->names);
  cli->flags = NULL;
  cli->options = NULL;
  cli->names = NULL;
  cli->nflags = 0;
}

static void push(jd_cli *cli, const char *key, const char *value) {
  cli->flags[cli->nflags++] = key;
  cli->flags[cli->nflags++] = value;
}

int jd_cli_take_option(bool *taken, int *code, jd_cli *cli, int *i) {
  *taken = false;
  const char *a = cli->argv[*i];
  if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
    cli->usage(stdout);
    *code = JD_EXIT_OK;
    return -1;
  }
  if (strncmp(a, "--", 2) || !a[2])
    return 0;
  const char *eq = strchr(a, '=');
  char key[64];
  snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
  const jd_setting *s = strcmp(key, "config") ? jd_setting_find(key) : NULL;
  if (strcmp(key, "config") && (!s || !(s->flag_of & cli->command)))
    return 0;
  const char *value = eq ? eq + 1 : *i + 1 < cli->argc ? cli->argv[*i + 1] : NULL;
  if (!value) {
    fprintf(stderr, "judger %s: %s needs a value\n", cli->name, a);
    *code = JD_EXIT_USAGE;
    return -1;
  }
  if (!eq)
    ++*i;
  *taken = true;
  if (s && cli->flags)
    push(cli, s->key, value);
  else if (!s)
    cli->file = value;
  return 0;
}

const struct option *jd_cli_options(jd_cli *cli, const struct option *own) {
  size_t nown = 0, n = 0;
  while (own && own[nown].name)
    nown++;
  free(cli->options);
  free(cli->names);
  cli->options = calloc(nown + jd_settings_count + 2, sizeof *cli->options);
  cli->names = malloc(jd_settings_count * 64);
  if (!cli->options || !cli->names)
    return NULL;
  for (; n < nown; n++)
    cli->options[n] = own[n];
  cli->options[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
  for (size_t i = 0; i < jd_settings_count; i++) {
    if (!(jd_settings[i].flag_of & cli->command))
      continue;
    char *name = cli->names + i * 64;
    snprintf(name, 64, "%s", jd_settings[i].key);
    for (char *p = name; *p; p++)
      *p = *p == '_' ? '-' : *p;
    cli->options[n++] = (struct option){name, required_argument, NULL, OPT_SETTING + (int)i};
  }
  return cli->options;
}

bool jd_cli_take_setting(jd_cli *cli, int c, const char *arg) {
  if (c == OPT_CONFIG)
    cli->file = arg;
  else if (c >= OPT_SETTING && c < OPT_SETTING + (int)jd_settings_count && cli->flags)
    push(cli, jd_settings[c - OPT_SETTING].key, arg);
  else
    return false;
  return true;
}

int jd_cli_load(jd_config *out, const jd_cli *cli, char *err, size_t errlen) {
  jd_settings_source src = {.file = cli->file, .flags = cli->flags};
  return jd_settings_load(out, &src, err, errlen);
}

void jd_cli_usage_settings(FILE *f, unsigned command) {
  const char *intro = "settings (docs/settings.md): --config FILE";
  fputs(intro, f);
  size_t col = strlen(intro);
  for (size_t i = 0; i < jd_settings_count; i++) {
    if (!(jd_settings[i].flag_of & command))
      continue;
    char name[64];
    snprintf(name, sizeof name, "--%s", jd_settings[i].key);
    for (char *p = name; *p; p++)
      *p = *p == '_' ? '-' : *p;
    bool wrap = col + strlen(name) + 2 > 78;
    fprintf(f, "%s%s", wrap ? ",\n  " : ", ", name);
    col = (wrap ? 2 : col + 2) + strlen(name);
  }
  fputs("\n", f);
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
