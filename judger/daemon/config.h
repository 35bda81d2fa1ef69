/* The daemon's settings, from four layers (each overrides the one before):
 *   built-in defaults < config file < environment (JUDGER_*) < command-line
 * The config file is `key = value` lines ('#' starts a comment); keys are
 * the same as the long flags without "--" (dashes or underscores), and the
 * environment variable of a key is JUDGER_<KEY> (upper case, underscores).
 * See docs/daemon.md for every key. */
#ifndef JD_CONFIG_H
#define JD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/policy.h"
#include "queue/queue.h"

typedef struct jd_config {
  char *redis;        /* redis://host:port/db or unix:///path */
  int slots;          /* tasks run at once */
  char *host_id;      /* consumer name and container label; default: hostname */
  char *state_dir;    /* caches, work dirs, outputs; default /var/lib/judger */
  char *out_dir;      /* task outputs; default <state_dir>/tasks */
  char *prefix;       /* Redis key prefix */
  char *group;        /* consumer group */
  char *labels;       /* "k=v,k=v" shown in the host registry */
  int64_t lease_ms;   /* an entry not renewed for this long is taken over */
  int64_t grace_ms;   /* SIGTERM: time running tasks get to finish */
  int64_t stall_ms;   /* no progress for this long ends a match; 0 = never */
  int64_t block_ms;   /* longest blocking read */
  int max_attempts;   /* attempts before a task goes to the dead letters */
  int upload_retries; /* tries per artifact upload */
  int64_t upload_timeout_ms;
  bool reap_dead_hosts; /* also clean up containers of registered hosts that died */
  int64_t reconcile_ms; /* period of the reconciliation sweep; 0 = none */
  /* each sweep at start, after the engine came back or after a system
   * fault is made once more this much later (creates still in flight) */
  int64_t reconcile_grace_ms;
  int64_t entry_max_bytes; /* a longer entry is dead-lettered unread */
  int entry_max_depth;     /* deeper JSON nesting is dead-lettered */
  char *log_level;         /* debug, info, warn, error */
  char *net_pool;          /* CIDR the match networks are carved from; "" = engine's */
  int build_jobs;          /* a match's program builds at once; 0 = CPUs, at most 4 */
  bool log_json;           /* one JSON object per log line */
  /* The host guard (guard.h): under disk_low free bytes or disk_low_inodes
   * percent free inodes no task is taken and space is reclaimed, until
   * both high marks are passed again; engine and disks checked every
   * guard_ms. engine_root: "auto" (DockerRootDir from /info when that path
   * exists here), "none", or the path to watch. */
  int64_t disk_low, disk_high;
  int disk_low_inodes, disk_high_inodes;
  int64_t guard_ms;
  char *engine_root;
  char *metrics_listen;    /* ADDR:PORT serving GET /metrics; "" = off */
  bool warm;               /* warm player starts (match/warm.h); default true */
  /* What a task may ask of this host (common/policy.h, docs/daemon.md):
   * NULL strings and 0 ceilings are the policy's safe defaults. */
  char *program_roots;
  bool allow_root_user;
  char *build_networks;
  char *git_schemes;
  bool fetch_private;
  /* Images program Dockerfiles may name besides the judger's base image
   * (build/dockerfile.h); NULL = JD_BASE_IMAGES_DEFAULT. */
  char *base_images;
  int64_t ceiling[JD_CEIL_COUNT];
  char *config_file;       /* the file that was read, or NULL */
} jd_config;

/* Sets the defaults (allocates); free with jd_config_clear(). */
int jd_config_defaults(jd_config *c);
void jd_config_clear(jd_config *c);

/* Sets one key from text; -1 with err naming the key when it is unknown or
 * the value bad. Dashes and underscores in keys are the same. */
int jd_config_set(jd_config *c, const char *key, const char *value, char *err, size_t errlen);

typedef struct jd_config_source {
  const char *file;         /* explicit file (--config); NULL = $JUDGER_CONFIG or
                               /etc/judger/judger.conf if it exists */
  char *const *envp;        /* NULL = environ */
  const char *const *flags; /* key, value, key, value..., NULL */
} jd_config_source;

/* All layers in order; *out is cleared first. On error *out holds nothing
 * to free. */
int jd_config_load(jd_config *out, const jd_config_source *src, char *err, size_t errlen);

/* The policy c gives (its strings still c's). */
void jd_config_policy(jd_policy *out, const jd_config *c);

/* Deep copy of src into dst (dst's old content is not freed); -1 when
 * memory runs out (dst then holds nothing to free). */
int jd_config_copy(jd_config *dst, const jd_config *src);

/* The log_level setting as a level (info when unset). */
jd_log_level jd_config_log_level(const jd_config *c);

/* True when key names a setting. */
bool jd_config_key_known(const char *key);

#endif
