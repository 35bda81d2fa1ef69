/* The options the queue commands (daemon, submit, status) share: where
 * their settings come from. `--config FILE` and the settings of
 * docs/daemon.md as flags (`--redis URL`, `--prefix P`, `--lease-ms=5000`),
 * collected into the flag layer of jd_config_load (daemon/config.h). */
#ifndef JD_OPTIONS_H
#define JD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/context.h"
#include "daemon/config.h"

typedef struct jd_config_opts {
  const char *file;   /* --config FILE, or NULL */
  const char **flags; /* key, value, key, value..., NULL: the flag layer */
  size_t nflags;      /* entries used in flags (two per setting) */
  char **keys;        /* the keys copied out of --key=value (owned) */
  size_t nkeys;
} jd_config_opts;

/* The settings the commands that only talk to the queue (submit, status)
 * take as flags: --redis and --prefix. NULL-terminated. */
extern const char *const jd_config_queue_keys[];

/* Room for every option of argv (argc as main gave it). 0, or -1 when
 * memory runs out. Freed with jd_config_opts_free(). */
int jd_config_opts_init(jd_config_opts *o, int argc);
void jd_config_opts_free(jd_config_opts *o);

/* Takes argv[*i] when it is --config or a setting named in `only` (a
 * NULL-terminated list of keys; NULL = every setting of daemon/config.h),
 * as `--key VALUE` or `--key=VALUE`; *i then points at the last argument
 * taken. *taken is false for any other argument (the command's own
 * options). -1 with a reason in err when the option lacks its value. */
int jd_config_opts_take(bool *taken, jd_config_opts *o, int argc, char **argv, int *i,
                        const char *const *only, char *err, size_t errlen);

/* The first step of a queue command's argument loop, for argv[*i]:
 * --help/-h prints usage(stdout) and returns -1 with *code JD_EXIT_OK; an
 * option of ours is taken as by jd_config_opts_take (-1 with *code
 * JD_EXIT_USAGE and the reason on stderr, after "judger <cmd>: ", when it
 * lacks its value). Otherwise 0 with *taken false: the command's own. */
int jd_cli_take_option(bool *taken, int *code, jd_config_opts *o, const char *cmd,
                       void (*usage)(FILE *), int argc, char **argv, int *i,
                       const char *const *only);

/* The ends of every command's argument loop, one wording for all: an option
 * the command does not know (or that lacks its value), and an argument it
 * did not expect. Both print the reason and usage on stderr and return
 * JD_EXIT_USAGE. */
int jd_cli_bad_option(const char *cmd, const char *arg, void (*usage)(FILE *));
int jd_cli_bad_argument(const char *cmd, const char *arg, void (*usage)(FILE *));

/* --host-id ID and --state-dir DIR: where a command finds this host's
 * objects (containers, networks and work dirs labelled with the host id;
 * caches, work dirs and locks under the state dir). Taken by every command
 * that makes, runs or sweeps them: run, build and gc (--state-dir: gc uses
 * no host id); the daemon takes them as its settings host_id and
 * state_dir. One resolution for all, the daemon's: the flag, else
 * $JUDGER_HOST_ID / $JUDGER_STATE_DIR, else the config file's host_id /
 * state_dir, else the host name and JD_STATE_DIR_DEFAULT; so a `judger
 * run` and the daemon of one host agree unless told otherwise. */
typedef struct jd_cli_host {
  const char *host_id;   /* --host-id, or NULL */
  const char *state_dir; /* --state-dir, or NULL */
} jd_cli_host;

/* Their getopt_long codes and entries. */
enum { JD_CLI_OPT_HOST_ID = 0x4000, JD_CLI_OPT_STATE_DIR };
#define JD_CLI_OPTION_HOST_ID                                                                      \
  { "host-id", required_argument, NULL, JD_CLI_OPT_HOST_ID }
#define JD_CLI_OPTION_STATE_DIR                                                                    \
  { "state-dir", required_argument, NULL, JD_CLI_OPT_STATE_DIR }
/* Takes getopt_long's c (with its optarg) into h when it is one of the
 * two; false otherwise. */
bool jd_cli_host_take(jd_cli_host *h, int c, const char *arg);

/* The host's settings as jd_cli_policy() loads them, with h's flags (h may
 * be NULL) over them: cfg->host_id and cfg->state_dir (absolute) are the
 * ones the command uses. 0, or -1 after saying why on stderr ("judger
 * <cmd>: settings: host_id: ..."): a usage error. */
int jd_cli_settings(jd_policy *policy, jd_config *cfg, const char *cmd, const jd_cli_host *h);

/* The host's policy for `judger run` and `judger build` (common/policy.h),
 * from where the daemon reads its settings: the config file
 * ($JUDGER_CONFIG, else /etc/judger/judger.conf when it exists) and the
 * JUDGER_* environment, the same keys (docs/daemon.md), so one file says
 * what any command of the host may be asked. *cfg holds the strings the
 * policy points to; the caller clears it with jd_config_clear(). 0, or -1
 * after saying why on stderr ("judger <cmd>: ..."). */
int jd_cli_policy(jd_policy *out, jd_config *cfg, const char *cmd);

/* An option's value as a whole number from 0 to max, or a number of
 * seconds (decimal, 0 to max): 0, or -1 with the option named on stderr
 * ("judger <cmd>: --dead: a whole number from 0 to 1000, not 'x'"). */
int jd_cli_count(long long *out, const char *cmd, const char *opt, const char *value,
                 long long max);
int jd_cli_seconds(double *out, const char *cmd, const char *opt, const char *value, double max);

/* Loads the settings: defaults < config file < environment < the flags
 * taken. As jd_config_load; *out is freed with jd_config_clear(). */
int jd_config_opts_load(jd_config *out, const jd_config_opts *o, char *err, size_t errlen);

#endif
