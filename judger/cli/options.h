/* What every command's argument loop shares: a jd_cli holds the command
 * (its name, its usage, argv) and the settings given on its command line
 * (`--config FILE` and the flags of cli/settings.h's list it takes), the
 * top layer of jd_settings_load(); and the words every command ends its
 * loop with. */
#ifndef JD_OPTIONS_H
#define JD_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/settings.h"
#include "daemon/config.h"

typedef struct jd_cli {
  const char *name;      /* "run": messages start "judger run: " */
  unsigned command;      /* JD_CMD_RUN: the settings it takes as flags */
  void (*usage)(FILE *); /* to stdout for --help, to stderr after a usage error */
  int argc;
  char **argv;
  const char *file;       /* --config FILE, or NULL */
  const char **flags;     /* key, value, key, value..., NULL: the flag layer */
  size_t nflags;          /* entries used in flags (two per setting) */
  struct option *options; /* jd_cli_options()'s */
  char *names;            /* the flag names options points into */
} jd_cli;

#define JD_CLI_INIT(name_, command_, usage_)                                                       \
  { .name = (name_), .command = (command_), .usage = (usage_) }

/* Room for every setting argv may give (argc as the command got it). 0, or
 * -1 when memory runs out. Freed with jd_cli_free(). */
int jd_cli_begin(jd_cli *cli, int argc, char **argv);
void jd_cli_free(jd_cli *cli);

/* The first step of a hand-written argument loop, for argv[*i]: --help/-h
 * prints usage(stdout) and returns -1 with *code JD_EXIT_OK; --config and
 * the settings the command takes as flags (`--key VALUE` or
 * `--key=VALUE`) are taken, *i then at the last argument taken (-1 with
 * *code JD_EXIT_USAGE and the reason on stderr, after "judger <cmd>: ",
 * when the value is missing). Otherwise 0 with *taken false: the
 * command's own. */
int jd_cli_take_option(bool *taken, int *code, jd_cli *cli, int *i);

/* For getopt_long: own (ending with a zero entry) followed by --config and
 * the settings the command takes as flags. NULL when memory runs out.
 * Owned by cli. */
const struct option *jd_cli_options(jd_cli *cli, const struct option *own);
/* Takes getopt_long's c (with its optarg) into cli when it is --config or
 * a setting of jd_cli_options(); false otherwise. */
bool jd_cli_take_setting(jd_cli *cli, int c, const char *arg);

/* The settings: defaults < config file < environment < the flags taken
 * (jd_settings_load). -1 with the reason in err; *out is freed with
 * jd_config_clear(). */
int jd_cli_load(jd_config *out, const jd_cli *cli, char *err, size_t errlen);

/* One line for a usage text: the settings the command takes as flags. */
void jd_cli_usage_settings(FILE *f, unsigned command);

/* The ends of every command's argument loop, one wording for all: an option
 * the command does not know (or that lacks its value), and an argument it
 * did not expect. Both print the reason and usage on stderr and return
 * JD_EXIT_USAGE. */
int jd_cli_bad_option(const char *cmd, const char *arg, void (*usage)(FILE *));
int jd_cli_bad_argument(const char *cmd, const char *arg, void (*usage)(FILE *));

/* An option's value as a whole number from 0 to max, or a number of
 * seconds (decimal, 0 to max): 0, or -1 with the option named on stderr
 * ("judger <cmd>: --dead: a whole number from 0 to 1000, not 'x'"). */
int jd_cli_count(long long *out, const char *cmd, const char *opt, const char *value,
                 long long max);
int jd_cli_seconds(double *out, const char *cmd, const char *opt, const char *value, double max);

#endif
