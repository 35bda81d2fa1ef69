/* One settings path for every command. The knobs are daemon/config.h's
 * list (JD_CONFIG_MAP); each is read from four layers, each over the one
 * before:
 *   built-in defaults < config file < environment < flags
 * The config file is --config FILE, else $JUDGER_CONFIG, else
 * /etc/judger/judger.conf when it exists; a key's variable is
 * JUDGER_<KEY>, its flag --<key> with dashes. The daemon, run, build, gc,
 * submit and status load them here and hand the values down (jd_ctx,
 * jd_queue_opts...): no library reads the environment (common/error.h,
 * rule 7). docs/settings.md is jd_settings_print_table()'s output. */
#ifndef JD_SETTINGS_H
#define JD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "daemon/config.h"

/* The commands with settings, as bits of a setting's used_by and flag_of
 * (`judger doctor` reads engine_accept only, and --config: libdockerapi
 * reads its DOCKER_* itself). */
#define JD_CLI_COMMAND_MAP(XX)                                                                     \
  XX(DAEMON, "daemon")                                                                             \
  XX(SUBMIT, "submit")                                                                             \
  XX(STATUS, "status")                                                                             \
  XX(RUN, "run")                                                                                   \
  XX(BUILD, "build")                                                                               \
  XX(GC, "gc")                                                                                     \
  XX(DOCTOR, "doctor")

enum {
#define JD_CLI_COMMAND_BIT(code, name) JD_CMD_BIT_##code,
  JD_CLI_COMMAND_MAP(JD_CLI_COMMAND_BIT)
#undef JD_CLI_COMMAND_BIT
      JD_CMD_BIT_COUNT
};
enum {
#define JD_CLI_COMMAND_FLAG(code, name) JD_CMD_##code = 1u << JD_CMD_BIT_##code,
  JD_CLI_COMMAND_MAP(JD_CLI_COMMAND_FLAG)
#undef JD_CLI_COMMAND_FLAG
};

/* The sets JD_CONFIG_MAP names: D the daemon, Q the queue's clients
 * (submit, status), R run, B build, G gc, X doctor. */
#define JD_CMDS_D JD_CMD_DAEMON
#define JD_CMDS_DQ (JD_CMD_DAEMON | JD_CMD_SUBMIT | JD_CMD_STATUS)
#define JD_CMDS_DR (JD_CMD_DAEMON | JD_CMD_RUN)
#define JD_CMDS_DRB (JD_CMDS_DR | JD_CMD_BUILD)
#define JD_CMDS_DRBG (JD_CMDS_DRB | JD_CMD_GC)
#define JD_CMDS_DRBX (JD_CMDS_DRB | JD_CMD_DOCTOR)

/* One row of the list. */
typedef struct jd_setting {
  const char *key;  /* the config file key: "lease_ms" */
  const char *kind; /* "string", "integer", "duration", "size", "boolean" */
  const char *dflt; /* the default as text; NULL = none (the help says) */
  unsigned used_by; /* JD_CMD_* bits: the commands it changes */
  unsigned flag_of; /* those that take it as a flag */
  const char *help;
} jd_setting;

extern const jd_setting jd_settings[];
extern const size_t jd_settings_count;

/* The setting a key or a flag names ("lease-ms", "lease_ms", "LEASE_MS"),
 * or NULL. */
const jd_setting *jd_setting_find(const char *name);

#define JD_SETTINGS_FILE_DEFAULT "/etc/judger/judger.conf"

typedef struct jd_settings_source {
  const char *file;         /* --config; NULL = $JUDGER_CONFIG, else
                               JD_SETTINGS_FILE_DEFAULT when it exists */
  char *const *envp;        /* NULL = environ */
  const char *const *flags; /* key, value, key, value..., NULL */
} jd_settings_source;

/* Every layer in order, then jd_config_finish(); *out is cleared first.
 * 0, or -1 with err naming the layer and the key ("FILE:LINE: slots: ...",
 * "JUDGER_SLOTS: slots: ...", "--slots: ..."); *out then holds nothing to
 * free. */
int jd_settings_load(jd_config *out, const jd_settings_source *src, char *err, size_t errlen);

/* The table of docs/settings.md (`judger help settings`): one Markdown row
 * per setting, the config file's own first. */
void jd_settings_print_table(FILE *f);

/* The environment git gives a pre-receive hook (docs/ci-hook.md): where
 * the pushed objects wait, for a source read in place to see them. NULL
 * when unset. envp NULL = environ. */
typedef struct jd_git_hook_env {
  const char *quarantine_path; /* $GIT_QUARANTINE_PATH */
  const char *object_dir;      /* $GIT_OBJECT_DIRECTORY */
} jd_git_hook_env;
void jd_settings_git_hook_env(jd_git_hook_env *out, char *const *envp);
/* The same handed to the sources (build/source.h jd_source_git_hook): what
 * run, build and the daemon do before opening any. */
void jd_settings_git_hook(char *const *envp);

/* The settings a command hands its context (common/context.h): state dir,
 * host id, policy, base images, the build's; with match, also the network
 * pool, cores and build jobs (run, league). Also jd_settings_git_hook. */
void jd_settings_ctx(jd_ctx *ctx, const jd_config *settings, bool match);

#endif
