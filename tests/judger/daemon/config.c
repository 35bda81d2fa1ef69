// test-labels: unit
/* judger/config.c: defaults < file < environment < flags. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "daemon/config.h"
#include "support.h"

static char *write_conf(char *dir, const char *text) {
  char *path = NULL;
  cr_assert(asprintf(&path, "%s/judger.conf", dir) > 0);
  cr_assert_eq(jd_write_file(path, text, strlen(text)), 0);
  return path;
}

Test(config, defaults_are_sane) {
  jd_config c;
  char *envp[] = {NULL};
  jd_config_source src = {.envp = envp};
  char err[256];
  cr_assert_eq(jd_config_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.slots, 1);
  cr_assert_eq(c.lease_ms, 30000);
  cr_assert_eq(c.max_attempts, 3);
  cr_assert_str_eq(c.prefix, "judger");
  cr_assert(c.host_id && *c.host_id);
  jd_config_clear(&c);
}

Test(config, layers_override_in_order) {
  char *dir = t_tmpdir("config");
  char *path = write_conf(dir, "# judger daemon\n"
                               "redis = redis://file:1/0\n"
                               "slots = 2\n"
                               "lease-ms = 5s   # dashes work too\n"
                               "host_id = from-file\n"
                               "labels = \"zone=a, gpu=0\"\n"
                               "log_json = yes\n");
  char *envp[] = {"JUDGER_SLOTS=3", "JUDGER_HOST_ID=from-env", "UNRELATED=1", NULL};
  const char *flags[] = {"host-id", "from-flag", NULL};
  jd_config_source src = {.file = path, .envp = envp, .flags = flags};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(c.redis, "redis://file:1/0"); /* file only */
  cr_assert_eq(c.slots, 3);                      /* env beats file */
  cr_assert_str_eq(c.host_id, "from-flag");      /* flag beats env */
  cr_assert_eq(c.lease_ms, 5000);
  cr_assert_str_eq(c.labels, "zone=a, gpu=0");
  cr_assert(c.log_json);
  cr_assert_str_eq(c.config_file, path);
  jd_config_clear(&c);
  free(path);
  t_rmdir(dir);
}

Test(config, config_file_from_the_environment) {
  char *dir = t_tmpdir("config");
  char *path = write_conf(dir, "slots = 7\n");
  char *var = NULL;
  cr_assert(asprintf(&var, "JUDGER_CONFIG=%s", path) > 0);
  char *envp[] = {var, NULL};
  jd_config_source src = {.envp = envp};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.slots, 7);
  jd_config_clear(&c);
  free(var);
  free(path);
  t_rmdir(dir);
}

Test(config, bad_values_are_named) {
  char *dir = t_tmpdir("config");
  char *path = write_conf(dir, "slots = 2\nslots = many\n");
  char *envp[] = {NULL};
  jd_config_source src = {.file = path, .envp = envp};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_load(&c, &src, err, sizeof err), -1);
  cr_assert(strstr(err, ":2:") && strstr(err, "slots"), "%s", err);
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_eq(jd_config_set(&c, "nope", "1", err, sizeof err), -1);
  cr_assert(strstr(err, "nope"));
  cr_assert_eq(jd_config_set(&c, "slots", "0", err, sizeof err), -1);
  cr_assert_eq(jd_config_set(&c, "host_id", "Bad Host", err, sizeof err), -1);
  cr_assert_eq(jd_config_set(&c, "lease_ms", "2m", err, sizeof err), 0);
  cr_assert_eq(c.lease_ms, 120000);
  cr_assert_eq(jd_config_set(&c, "redis", "redis://:pw@h:1/0", err, sizeof err), 0);
  jd_config_clear(&c);
  char *envp2[] = {"JUDGER_LEASE_MS=soon", NULL};
  jd_config_source src2 = {.envp = envp2};
  cr_assert_eq(jd_config_load(&c, &src2, err, sizeof err), -1);
  cr_assert(strstr(err, "JUDGER_LEASE_MS"), "%s", err);
  free(path);
  t_rmdir(dir);
}

/* Blank lines and comments count: the line number in a message is the one
 * an editor shows (strtok_r once skipped blank lines and undercounted). */
Test(config, error_line_numbers_count_blank_lines) {
  char *dir = t_tmpdir("config");
  char *path = write_conf(dir, "# judger\n\nslots = 2\n\n\nslots = many\n");
  char *envp[] = {NULL};
  jd_config_source src = {.file = path, .envp = envp};
  jd_config c;
  char err[256];
  cr_assert_eq(jd_config_load(&c, &src, err, sizeof err), -1);
  cr_assert(strstr(err, ":6:"), "%s", err);
  free(path);
  t_rmdir(dir);
}

Test(config, disk_marks_have_defaults_and_high_not_under_low) {
  jd_config c;
  char *envp[] = {"JUDGER_DISK_LOW=512m", "JUDGER_DISK_LOW_INODES=3", NULL};
  const char *flags[] = {"disk-high", "1g", "guard-ms", "2s", "engine-root", "none", NULL};
  jd_config_source src = {.envp = envp, .flags = flags};
  char err[256];
  cr_assert_eq(jd_config_load(&c, &src, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.disk_low, (int64_t)512 << 20);
  cr_assert_eq(c.disk_high, (int64_t)1 << 30);
  cr_assert_eq(c.disk_low_inodes, 3);
  cr_assert_eq(c.disk_high_inodes, 5);
  cr_assert_eq(c.guard_ms, 2000);
  cr_assert_str_eq(c.engine_root, "none");
  jd_config_clear(&c);
  const char *bad[] = {"disk-low", "3g", NULL};
  src.flags = bad;
  cr_assert_neq(jd_config_load(&c, &src, err, sizeof err), 0);
  cr_assert(strstr(err, "disk_high"), "%s", err);
  const char *pct[] = {"disk-high-inodes", "101", NULL};
  src.flags = pct;
  cr_assert_neq(jd_config_load(&c, &src, err, sizeof err), 0);
  cr_assert(strstr(err, "disk_high_inodes"), "%s", err);
}
