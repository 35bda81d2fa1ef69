// test-labels: unit
/* cli/settings.c: one settings path for every command, defaults < file <
 * environment < flags, and docs/settings.md equal to the list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "cli/settings.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

static char *write_conf(char *dir, const char *text) {
  char *path = NULL;
  cr_assert(asprintf(&path, "%s/judger.conf", dir) > 0);
  cr_assert_eq(jd_write_file(path, text, strlen(text)), 0);
  return path;
}

Test(settings, defaults_alone) {
  jd_config c;
  char *envp[] = {NULL};
  jd_settings_source src = {.envp = envp};
  char err[256];
  cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.slots, 1);
  cr_assert_str_eq(c.prefix, "judger");
  cr_assert(c.host_id && *c.host_id);
  jd_config_clear(&c);
}

Test(settings, layers_override_in_order) {
  char *dir = t_tmpdir("settings");
  char *path = write_conf(dir, "# judger daemon\n"
                               "redis = redis://file:1/0\n"
                               "slots = 2\n"
                               "lease-ms = 5s   # dashes work too\n"
                               "host_id = from-file\n"
                               "labels = \"zone=a, gpu=0\"\n"
                               "log_json = yes\n"
                               "build_allow = file.example\n");
  char *envp[] = {"JUDGER_SLOTS=3",
                  "JUDGER_HOST_ID=from-env",
                  "UNRELATED=1",
                  "JUDGER_BUILD_ALLOW=env.example",
                  "JUDGER_DEBIAN_MIRROR=http://env/debian",
                  NULL};
  const char *flags[] = {"host-id", "from-flag", NULL};
  jd_settings_source src = {.file = path, .envp = envp, .flags = flags};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(c.redis, "redis://file:1/0"); /* file only */
  cr_assert_eq(c.slots, 3);                      /* env beats file */
  cr_assert_str_eq(c.host_id, "from-flag");      /* flag beats env */
  cr_assert_eq(c.lease_ms, 5000);
  cr_assert_str_eq(c.labels, "zone=a, gpu=0");
  cr_assert(c.log_json);
  cr_assert_str_eq(c.build_allow, "env.example");
  cr_assert_str_eq(c.debian_mirror, "http://env/debian");
  cr_assert_str_eq(c.config_file, path);
  jd_config_clear(&c);
  free(path);
  t_rmdir(dir);
}

Test(settings, config_file_from_the_environment) {
  char *dir = t_tmpdir("settings");
  char *path = write_conf(dir, "slots = 7\n");
  char *var = NULL;
  cr_assert(asprintf(&var, "JUDGER_CONFIG=%s", path) > 0);
  char *envp[] = {var, NULL};
  jd_settings_source src = {.envp = envp};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.slots, 7);
  jd_config_clear(&c);
  free(var);
  free(path);
  t_rmdir(dir);
}

Test(settings, bad_values_are_named_with_their_layer) {
  char *dir = t_tmpdir("settings");
  char *path = write_conf(dir, "slots = 2\nslots = many\n");
  char *envp[] = {NULL};
  jd_settings_source src = {.file = path, .envp = envp};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), -1);
  cr_assert(strstr(err, ":2:") && strstr(err, "slots"), "%s", err);
  char *envp2[] = {"JUDGER_LEASE_MS=soon", NULL};
  jd_settings_source src2 = {.envp = envp2};
  cr_assert_eq(jd_settings_load(&c, &src2, err, sizeof err), -1);
  cr_assert(strstr(err, "JUDGER_LEASE_MS"), "%s", err);
  const char *flags[] = {"lease_ms", "soon", NULL};
  jd_settings_source src3 = {.envp = envp, .flags = flags};
  cr_assert_eq(jd_settings_load(&c, &src3, err, sizeof err), -1);
  cr_assert(!strncmp(err, "--lease-ms: expected a duration", 31), "%s", err);
  const char *images[] = {"base-images", "Not An Image", NULL};
  src3.flags = images;
  cr_assert_eq(jd_settings_load(&c, &src3, err, sizeof err), -1);
  cr_assert(!strncmp(err, "--base-images: ", 15), "%s", err);
  free(path);
  t_rmdir(dir);
}

/* Blank lines and comments count: the line number in a message is the one
 * an editor shows (strtok_r once skipped blank lines and undercounted). */
Test(settings, error_line_numbers_count_blank_lines) {
  char *dir = t_tmpdir("settings");
  char *path = write_conf(dir, "# judger\n\nslots = 2\n\n\nslots = many\n");
  char *envp[] = {NULL};
  jd_settings_source src = {.file = path, .envp = envp};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), -1);
  cr_assert(strstr(err, ":6:"), "%s", err);
  free(path);
  t_rmdir(dir);
}

Test(settings, disk_marks_have_defaults_and_high_not_under_low) {
  jd_config c;
  char *envp[] = {"JUDGER_DISK_LOW=512m", "JUDGER_DISK_LOW_INODES=3", NULL};
  const char *flags[] = {"disk-high", "1g", "guard-ms", "2s", "engine-root", "none", NULL};
  jd_settings_source src = {.envp = envp, .flags = flags};
  char err[256];
  cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.disk_low, (int64_t)512 << 20);
  cr_assert_eq(c.disk_high, (int64_t)1 << 30);
  cr_assert_eq(c.disk_low_inodes, 3);
  cr_assert_eq(c.disk_high_inodes, 5);
  cr_assert_eq(c.guard_ms, 2000);
  cr_assert_str_eq(c.engine_root, "none");
  jd_config_clear(&c);
  const char *bad[] = {"disk-low", "3g", NULL};
  src.flags = bad;
  cr_assert_neq(jd_settings_load(&c, &src, err, sizeof err), 0);
  cr_assert(strstr(err, "disk_high"), "%s", err);
  const char *pct[] = {"disk-high-inodes", "101", NULL};
  src.flags = pct;
  cr_assert_neq(jd_settings_load(&c, &src, err, sizeof err), 0);
  cr_assert(strstr(err, "--disk-high-inodes"), "the flag is named: %s", err);
}

/* Every setting is read from its JUDGER_<KEY>, whatever command loads it. */
Test(settings, every_setting_has_its_variable) {
  for (size_t i = 0; i < jd_settings_count; i++) {
    const jd_setting *s = &jd_settings[i];
    cr_assert_eq(jd_setting_find(s->key), s);
    char flag[64], var[128];
    snprintf(flag, sizeof flag, "%s", s->key);
    for (char *p = flag; *p; p++)
      *p = *p == '_' ? '-' : *p;
    cr_assert_eq(jd_setting_find(flag), s, "%s", flag);
    cr_assert(s->flag_of & JD_CMD_DAEMON, "%s: every setting is a flag of the daemon", s->key);
    cr_assert_eq(s->flag_of & ~s->used_by, 0u, "%s: a flag of a command that ignores it", s->key);
    cr_assert(s->help && *s->help && !strchr(s->help, '|') && !strchr(s->help, '\n'), "%s", s->key);
    /* A setting's default, given back as its variable, is taken. */
    if (!s->dflt)
      continue;
    int n = snprintf(var, sizeof var, "JUDGER_%s", s->key);
    for (int j = 7; j < n; j++)
      var[j] = (char)(var[j] >= 'a' && var[j] <= 'z' ? var[j] - 32 : var[j]);
    snprintf(var + n, sizeof var - (size_t)n, "=%s", s->dflt);
    char *envp[] = {var, NULL};
    jd_settings_source src = {.envp = envp};
    jd_config c;
    char err[256];
    cr_assert_eq(jd_settings_load(&c, &src, err, sizeof err), 0, "%s: %s", var, err);
    jd_config_clear(&c);
  }
}

/* docs/settings.md holds `judger help settings`'s table, as it prints it. */
Test(settings, the_doc_is_the_list) {
  char *want = NULL, *doc = NULL;
  size_t wlen = 0;
  FILE *f = open_memstream(&want, &wlen);
  cr_assert_not_null(f);
  jd_settings_print_table(f);
  fclose(f);
  cr_assert_eq(jd_read_file(&doc, NULL, JD_SOURCE_DIR "/docs/settings.md", 1 << 20), 0);
  const char *begin = strstr(doc, "<!-- settings table: judger help settings -->\n");
  const char *end = begin ? strstr(begin, "<!-- end of the settings table -->") : NULL;
  cr_assert(begin && end, "docs/settings.md has lost its markers");
  begin = strchr(begin, '\n') + 1;
  cr_assert(strlen(want) == (size_t)(end - begin) && !strncmp(begin, want, wlen),
            "docs/settings.md differs from the list: `judger help settings` prints it");
  free(want);
  free(doc);
}

Test(settings, git_hook_variables) {
  char *envp[] = {"GIT_QUARANTINE_PATH=/r/objects/incoming-1", "GIT_OBJECT_DIRECTORY=/r/q", NULL};
  jd_git_hook_env g;
  jd_settings_git_hook_env(&g, envp);
  cr_assert_str_eq(g.quarantine_path, "/r/objects/incoming-1");
  cr_assert_str_eq(g.object_dir, "/r/q");
  char *none[] = {NULL};
  jd_settings_git_hook_env(&g, none);
  cr_assert_null(g.quarantine_path);
  cr_assert_null(g.object_dir);
}
