// test-labels: unit
/* cli/options.c: option values are type-checked by name, and every
 * command ends its argument loop with the same words and exit code. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/options.h"
#include "common/error.h"
#include "support.h"

static int usage_calls;
static void usage(FILE *f) {
  (void)f;
  usage_calls++;
}

Test(options, counts_are_whole_numbers_in_range) {
  long long n = 7;
  cr_assert_eq(jd_cli_count(&n, "status", "--dead", "25", 100), 0);
  cr_assert_eq(n, 25);
  const char *bad[] = {"", "x", "-1", "+3", " 3", "3x", "101", "1e2", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(jd_cli_count(&n, "status", "--dead", bad[i], 100), -1, "'%s' taken", bad[i]);
  cr_assert_eq(jd_cli_count(&n, "status", "--dead", NULL, 100), -1);
  cr_assert_eq(n, 25, "a refused value leaves the old one");
}

Test(options, seconds_are_numbers_in_range) {
  double s = 1;
  cr_assert_eq(jd_cli_seconds(&s, "submit", "--wait", "2.5", 60), 0);
  cr_assert_float_eq(s, 2.5, 1e-9);
  const char *bad[] = {"soon", "-1", "nan", "inf", "61", "1s", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(jd_cli_seconds(&s, "submit", "--wait", bad[i], 60), -1, "'%s' taken", bad[i]);
  cr_assert_float_eq(s, 2.5, 1e-9);
}

Test(options, bad_options_and_arguments_are_usage_errors) {
  usage_calls = 0;
  cr_assert_eq(jd_cli_bad_option("gc", "--nope", usage), JD_EXIT_USAGE);
  cr_assert_eq(jd_cli_bad_argument("gc", "extra", usage), JD_EXIT_USAGE);
  cr_assert_eq(usage_calls, 2, "usage is shown each time");
}

/* ---- --host-id and --state-dir: one resolution for every command ------- */

/* A config file of our own, so /etc/judger/judger.conf never counts. */
static char *settings_file(const char *text) {
  char *dir = t_tmpdir("opts");
  static char path[512];
  snprintf(path, sizeof path, "%s/judger.conf", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  setenv("JUDGER_CONFIG", path, 1);
  unsetenv("JUDGER_HOST_ID");
  unsetenv("JUDGER_STATE_DIR");
  return dir;
}

Test(options, host_options_are_taken_by_their_codes) {
  jd_cli_host h = {0};
  cr_assert(jd_cli_host_take(&h, JD_CLI_OPT_HOST_ID, "h1"));
  cr_assert(jd_cli_host_take(&h, JD_CLI_OPT_STATE_DIR, "/s"));
  cr_assert_not(jd_cli_host_take(&h, 'q', NULL));
  cr_assert_str_eq(h.host_id, "h1");
  cr_assert_str_eq(h.state_dir, "/s");
}

Test(options, flags_over_environment_over_file_over_defaults) {
  char *dir = settings_file("host_id = file-host\nstate_dir = /srv/file-state\n");
  jd_config cfg;
  jd_policy pol;
  /* The file alone: what the daemon of this host would use. */
  cr_assert_eq(jd_cli_settings(&pol, &cfg, "run", NULL), 0);
  cr_assert_str_eq(cfg.host_id, "file-host");
  cr_assert_str_eq(cfg.state_dir, "/srv/file-state");
  jd_config_clear(&cfg);
  /* The environment over the file. */
  setenv("JUDGER_HOST_ID", "env-host", 1);
  setenv("JUDGER_STATE_DIR", "/srv/env-state", 1);
  cr_assert_eq(jd_cli_settings(&pol, &cfg, "run", &(jd_cli_host){0}), 0);
  cr_assert_str_eq(cfg.host_id, "env-host");
  cr_assert_str_eq(cfg.state_dir, "/srv/env-state");
  jd_config_clear(&cfg);
  /* The flags over both; a relative state dir made absolute. */
  jd_cli_host h = {.host_id = "flag-host", .state_dir = "rel/state"};
  cr_assert_eq(jd_cli_settings(&pol, &cfg, "run", &h), 0);
  cr_assert_str_eq(cfg.host_id, "flag-host");
  cr_assert_eq(cfg.state_dir[0], '/', "%s", cfg.state_dir);
  cr_assert_not_null(strstr(cfg.state_dir, "/rel/state"), "%s", cfg.state_dir);
  jd_config_clear(&cfg);
  t_rmdir(dir);
}

Test(options, a_bad_host_id_is_refused_as_the_daemon_refuses_it) {
  char *dir = settings_file("");
  jd_config cfg;
  jd_policy pol;
  cr_assert_eq(jd_cli_settings(&pol, &cfg, "build", &(jd_cli_host){.host_id = "Bad Host"}), -1);
  cr_assert_eq(jd_cli_settings(&pol, &cfg, "build", &(jd_cli_host){.state_dir = ""}), -1);
  t_rmdir(dir);
}

/* Runs `judger ARGS...` with stdout and stderr to /dev/null; its exit. */
static int judger(const char *const *args) {
  char cmd[2048];
  int n = snprintf(cmd, sizeof cmd, "%s/bin/judger", JD_BINARY_DIR);
  for (; *args; args++)
    n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", *args);
  snprintf(cmd + n, sizeof cmd - (size_t)n, " >/dev/null 2>&1");
  int st = system(cmd);
  cr_assert(WIFEXITED(st));
  return WEXITSTATUS(st);
}

Test(options, every_command_that_uses_them_takes_host_id_and_state_dir) {
  char *dir = settings_file("");
  /* Taken, then --help: 0. An unknown option would be 2 before --help. */
  const char *const with_both[] = {"run", "build", "daemon"};
  for (size_t i = 0; i < sizeof with_both / sizeof *with_both; i++)
    cr_assert_eq(judger((const char *[]){with_both[i], "--host-id", "h-1", "--state-dir", dir,
                                         "--help", NULL}),
                 0, "judger %s refuses --host-id or --state-dir", with_both[i]);
  cr_assert_eq(judger((const char *[]){"gc", "--state-dir", dir, "--help", NULL}), 0);
  /* The value is checked where it is used, with the daemon's rule. */
  cr_assert_eq(judger((const char *[]){"build", "--host-id", "Bad Host", "--domain", "ai", "--id",
                                       "x", "--source", dir, NULL}),
               2);
  t_rmdir(dir);
}
