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

/* The settings of a command line: --config and the flags the command
 * takes, as `--key value` or `--key=value`; the rest is the command's. */
Test(options, a_hand_written_loop_takes_the_settings_it_is_given) {
  char *argv[] = {"submit",  "--redis", "redis://h:1/0", "--prefix=p", "--config", "/x.conf",
                  "--slots", "2",       "--priority",    "build",      NULL};
  int argc = 10;
  jd_cli cli = JD_CLI_INIT("submit", JD_CMD_SUBMIT, usage);
  cr_assert_eq(jd_cli_begin(&cli, argc, argv), 0);
  bool taken[10] = {false};
  int code = -1;
  for (int i = 1; i < argc; i++) {
    int at = i;
    cr_assert_eq(jd_cli_take_option(&taken[at], &code, &cli, &i), 0);
  }
  cr_assert(taken[1] && taken[3] && taken[4]);
  cr_assert_not(taken[6], "--slots is the daemon's, not submit's");
  cr_assert_not(taken[8]);
  cr_assert_str_eq(cli.file, "/x.conf");
  cr_assert_eq(cli.nflags, 4);
  cr_assert_str_eq(cli.flags[0], "redis");
  cr_assert_str_eq(cli.flags[1], "redis://h:1/0");
  cr_assert_str_eq(cli.flags[2], "prefix");
  cr_assert_str_eq(cli.flags[3], "p");
  char *lacking[] = {"status", "--redis", NULL};
  jd_cli other = JD_CLI_INIT("status", JD_CMD_STATUS, usage);
  cr_assert_eq(jd_cli_begin(&other, 2, lacking), 0);
  int i = 1;
  bool t = false;
  cr_assert_eq(jd_cli_take_option(&t, &code, &other, &i), -1);
  cr_assert_eq(code, JD_EXIT_USAGE);
  jd_cli_free(&other);
  jd_cli_free(&cli);
}

/* A getopt_long loop gets --config and its settings' flags beside its own. */
Test(options, getopt_gets_the_settings_of_its_command) {
  static const struct option own[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
  jd_cli cli = JD_CLI_INIT("gc", JD_CMD_GC, usage);
  char *argv[] = {"gc", NULL};
  cr_assert_eq(jd_cli_begin(&cli, 1, argv), 0);
  const struct option *o = jd_cli_options(&cli, own);
  cr_assert_not_null(o);
  bool json = false, config = false, state = false;
  for (; o->name; o++) {
    json = json || !strcmp(o->name, "json");
    config = config || !strcmp(o->name, "config");
    state = state || !strcmp(o->name, "state-dir");
    cr_assert(strcmp(o->name, "slots"), "gc takes no --slots");
    if (!strcmp(o->name, "state-dir"))
      cr_assert(jd_cli_take_setting(&cli, o->val, "/srv/s"));
    if (!strcmp(o->name, "config"))
      cr_assert(jd_cli_take_setting(&cli, o->val, "/x.conf"));
  }
  cr_assert(json && config && state);
  cr_assert_not(jd_cli_take_setting(&cli, 'j', NULL));
  cr_assert_str_eq(cli.file, "/x.conf");
  cr_assert_str_eq(cli.flags[0], "state_dir");
  cr_assert_str_eq(cli.flags[1], "/srv/s");
  jd_cli_free(&cli);
}

/* run, build and gc load as the daemon: flags over the environment over
 * the file over the defaults. */
Test(options, flags_over_environment_over_file_over_defaults) {
  char *dir = settings_file("host_id = file-host\nstate_dir = /srv/file-state\n");
  char *argv[] = {"run", NULL};
  jd_cli cli = JD_CLI_INIT("run", JD_CMD_RUN, usage);
  cr_assert_eq(jd_cli_begin(&cli, 1, argv), 0);
  jd_config cfg;
  char err[256];
  /* The file alone: what the daemon of this host would use. */
  cr_assert_eq(jd_cli_load(&cfg, &cli, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(cfg.host_id, "file-host");
  cr_assert_str_eq(cfg.state_dir, "/srv/file-state");
  jd_config_clear(&cfg);
  /* The environment over the file. */
  setenv("JUDGER_HOST_ID", "env-host", 1);
  setenv("JUDGER_STATE_DIR", "/srv/env-state", 1);
  cr_assert_eq(jd_cli_load(&cfg, &cli, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(cfg.host_id, "env-host");
  cr_assert_str_eq(cfg.state_dir, "/srv/env-state");
  jd_config_clear(&cfg);
  /* The flags over both; a relative state dir made absolute. (The test's
   * own flag lists stand in for what jd_cli_begin allocated: put back
   * before jd_cli_free.) */
  const char **own = cli.flags;
  const char *flags[] = {"host_id", "flag-host", "state_dir", "rel/state", NULL};
  cli.flags = flags;
  cr_assert_eq(jd_cli_load(&cfg, &cli, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(cfg.host_id, "flag-host");
  cr_assert_eq(cfg.state_dir[0], '/', "%s", cfg.state_dir);
  cr_assert_not_null(strstr(cfg.state_dir, "/rel/state"), "%s", cfg.state_dir);
  jd_config_clear(&cfg);
  /* A bad host id is refused as the daemon refuses it. */
  const char *bad[] = {"host_id", "Bad Host", NULL};
  cli.flags = bad;
  cr_assert_eq(jd_cli_load(&cfg, &cli, err, sizeof err), -1);
  const char *empty[] = {"state_dir", "", NULL};
  cli.flags = empty;
  cr_assert_eq(jd_cli_load(&cfg, &cli, err, sizeof err), -1);
  cli.flags = own;
  jd_cli_free(&cli);
  unsetenv("JUDGER_HOST_ID");
  unsetenv("JUDGER_STATE_DIR");
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
  /* The host policy is a flag of the daemon only: run and build read it
   * from the file or the environment. */
  cr_assert_eq(judger((const char *[]){"daemon", "--program-roots", dir, "--help", NULL}), 0);
  cr_assert_eq(judger((const char *[]){"run", "--program-roots", dir, "--help", NULL}), 2);
  cr_assert_eq(judger((const char *[]){"build", "--max-memory", "1g", "--help", NULL}), 2);
  cr_assert_eq(judger((const char *[]){"build", "--build-allow", "a.example", "--debian-mirror",
                                       "http://m/debian", "--help", NULL}),
               0);
  /* --config FILE: every command with settings. */
  const char *with_config[] = {"run", "build", "gc", "daemon", "submit", "status"};
  for (size_t i = 0; i < sizeof with_config / sizeof *with_config; i++)
    cr_assert_eq(judger((const char *[]){with_config[i], "--config", dir, "--help", NULL}), 0,
                 "judger %s refuses --config", with_config[i]);
  /* The value is checked where it is used, with the daemon's rule. */
  cr_assert_eq(judger((const char *[]){"build", "--host-id", "Bad Host", "--domain", "ai", "--id",
                                       "x", "--source", dir, NULL}),
               2);
  t_rmdir(dir);
}
