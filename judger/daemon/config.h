/* The judger's settings: one list of every knob, and the struct they fill.
 *
 * Every command reads them the same way (cli/settings.h):
 *   built-in defaults < config file < environment (JUDGER_*) < flags
 * The config file is `key = value` lines ('#' starts a comment); the flag
 * of a key is --key with dashes, its environment variable JUDGER_<KEY>
 * (upper case, underscores). This part only keeps and checks the values:
 * reading a file, the environment or a command line is cli/'s
 * (common/error.h, rule 7). docs/settings.md is the table of the list
 * below (`judger help settings` prints it). */
#ifndef JD_CONFIG_H
#define JD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "common/log.h"
#include "common/policy.h"
#include "match/net_stock.h"
#include "queue/queue.h"

/* Every setting: XX(key, kind, field, lo, hi, default, used_by, flag_of, help)
 *   key      the config file key (flag --key, variable JUDGER_KEY)
 *   kind     STR, INT, I64, MS (a duration), SIZE or BOOL: how it is read
 *   field    the member of jd_config it sets
 *   lo, hi   the bounds of a number
 *   default  the value before any layer, as text; NULL = none (see help)
 *   used_by  the commands it changes, flag_of those that take it as a flag
 *            (cli/settings.h: D daemon, Q submit and status, R run,
 *            B build, G gc; DQ = D and Q...)
 *   help     one line for docs/settings.md */
#define JD_CONFIG_MAP(XX)                                                                          \
  XX(redis, STR, redis, 0, 0, "redis://127.0.0.1:6379/0", DQ, DQ,                                  \
     "the queue's Redis: redis://[[user]:password@]host[:port][/db], unix://..., or "              \
     "redis-sentinel://[[user]:password@]host:port,host:port/master[/db] (docs/queue.md)")         \
  XX(prefix, STR, prefix, 0, 0, "judger", DQ, DQ, "Redis key prefix")                              \
  XX(min_replicas_acked, INT, min_replicas_acked, -1, 16, "-1", DQ, DQ,                            \
     "replicas that must confirm a claim, result, dead letter or submission (WAIT) before it "     \
     "counts (-1 = 1 when the primary has replicas, else 0)")                                      \
  XX(replica_wait_ms, MS, replica_wait_ms, 10, 600000, "1s", DQ, DQ,                               \
     "how long a write waits for its replicas before it counts as unconfirmed")                    \
  XX(group, STR, group, 0, 0, "judgers", DQ, D, "consumer group")                                  \
  XX(slots, INT, slots, 1, 256, "1", D, D, "tasks run at once")                                    \
  XX(host_id, STR, host_id, 0, 0, NULL, DRBG, DRBG,                                                \
     "this host's label on what the judger makes, its consumer name (default: the host name)")     \
  XX(state_dir, STR, state_dir, 0, 0, JD_STATE_DIR_DEFAULT, DRBG, DRBG,                            \
     "caches, work directories, locks, spool")                                                     \
  XX(out_dir, STR, out_dir, 0, 0, NULL, D, D, "task outputs (default: <state_dir>/tasks)")         \
  XX(labels, STR, labels, 0, 0, "", D, D, "k=v,k=v shown in the host heartbeat")                   \
  XX(lease_ms, MS, lease_ms, 200, 86400000, "30s", D, D,                                           \
     "an entry not renewed this long is taken over by another judger")                             \
  XX(grace_ms, MS, grace_ms, 0, 86400000, "60s", D, D,                                             \
     "SIGTERM: how long running tasks may finish")                                                 \
  XX(stall_ms, MS, stall_ms, 0, 86400000, "0", D, D,                                               \
     "a task that reports nothing this long is ended (0 = never)")                                 \
  XX(block_ms, MS, block_ms, 10, 60000, "2s", D, D, "longest blocking read")                       \
  XX(lookahead, BOOL, lookahead, 0, 0, "true", D, D,                                               \
     "while every slot is busy, peek at the next entry (not read: it stays free for every host) "  \
     "and build its images ahead")                                                                 \
  XX(max_attempts, INT, max_attempts, 1, 100, "3", D, D,                                           \
     "attempts before a task goes to the dead letters")                                            \
  XX(upload_retries, INT, upload_retries, 1, 100, "5", D, D, "tries per artifact upload")          \
  XX(upload_timeout_ms, MS, upload_timeout_ms, 100, 86400000, "5m", D, D, "per upload try")        \
  XX(upload_gzip_min_bytes, SIZE, upload_gzip_min_bytes, 0, (int64_t)1 << 50, "1m", D, D,          \
     "an output of at least this size is gzipped before upload (0 = only logs)")                   \
  XX(reap_dead_hosts, BOOL, reap_dead_hosts, 0, 0, "true", D, D,                                   \
     "also remove the containers of registered hosts that died")                                   \
  XX(reconcile_ms, MS, reconcile_ms, 0, 86400000, "60s", D, D,                                     \
     "period of the reconciliation sweep (0 = none)")                                              \
  XX(reconcile_grace_ms, MS, reconcile_grace_ms, 100, 3600000, "5s", D, D,                         \
     "each sweep is made once more this much later")                                               \
  XX(entry_max_bytes, SIZE, entry_max_bytes, 1024, (int64_t)1 << 30, "1m", D, D,                   \
     "a longer queue entry is dead-lettered unread")                                               \
  XX(entry_max_depth, INT, entry_max_depth, 1, 100000, "256", D, D,                                \
     "deeper JSON nesting in an entry is dead-lettered")                                           \
  XX(input_max_bytes, SIZE, input_max_bytes, 1, (int64_t)1 << 40, "256m", DR, DR,                  \
     "largest file a match's inputs may fetch into the host's cache")                              \
  XX(publish_max_bytes, SIZE, publish_max_bytes, 1, (int64_t)512 << 20, "16m", D, D,               \
     "largest output a task may publish to Redis for the tasks after it")                          \
  XX(log_level, STR, log_level, 0, 0, "info", D, D, "debug, info, warn or error")                  \
  XX(log_json, BOOL, log_json, 0, 0, "false", D, D, "one JSON object per log line")                \
  XX(net_pool, STR, net_pool, 0, 0, JD_NET_POOL_DEFAULT, DR, DR,                                   \
     "CIDR the match networks are carved from (\"\" = the engine's pools)")                        \
  XX(build_jobs, INT, build_jobs, 0, 17, "0", DR, DR,                                              \
     "program builds a match runs at once (0 = the CPUs, at most 4)")                              \
  XX(net_stock, INT, net_stock, 0, JD_NET_STOCK_MAX, "32", DR, DR,                                 \
     "match networks kept ready on this host between matches (0 = none)")                          \
  XX(cpu_pool, STR, cpu_pool, 0, 0, "", DR, DR,                                                    \
     "CPUs matches with limits.cpuset auto lease theirs from, as 0-7 or 0,2,4-6 (\"\" = the "      \
     "engine's)")                                                                                  \
  XX(clock_backend, STR, clock_backend, 0, 0, "auto", DR, DR,                                      \
     "where turn clocks and usage are read: auto (the cgroup files when there, else the API), "    \
     "api or cgroup")                                                                              \
  XX(cgroup_root, STR, cgroup_root, 0, 0, "/sys/fs/cgroup", DR, DR,                                \
     "the host's cgroup mount (clock_backend auto or cgroup)")                                     \
  XX(disk_low, SIZE, disk_low, 0, (int64_t)1 << 50, "1g", D, D,                                    \
     "fewer free bytes on a watched disk pause the daemon")                                        \
  XX(disk_high, SIZE, disk_high, 0, (int64_t)1 << 50, "2g", D, D,                                  \
     "free bytes needed to resume after disk_low")                                                 \
  XX(disk_low_inodes, INT, disk_low_inodes, 0, 100, "2", D, D,                                     \
     "fewer percent free inodes pause the daemon")                                                 \
  XX(disk_high_inodes, INT, disk_high_inodes, 0, 100, "5", D, D,                                   \
     "percent free inodes needed to resume")                                                       \
  XX(guard_ms, MS, guard_ms, 100, 3600000, "5s", D, D, "period of the engine and disk checks")     \
  XX(engine_root, STR, engine_root, 0, 0, "auto", D, D,                                            \
     "the engine's data root to watch: auto, none or a path")                                      \
  XX(metrics_listen, STR, metrics_listen, 0, 0, "", D, D,                                          \
     "ADDR:PORT serving GET /metrics (\"\" = off)")                                                \
  XX(watch_key_file, STR, watch_key_file, 0, 0, "", DQ, DQ,                                        \
     "the key watch tokens are made with (judger watch-token); \"\" = no live HTTP streams")       \
  XX(live_entries, INT, live_entries, 16, 1000000, "2000", D, D,                                   \
     "entries a match's live stream keeps (Redis and HTTP), the latest")                           \
  XX(live_max_bytes, SIZE, live_max_bytes, 65536, (int64_t)1 << 30, "8m", D, D,                    \
     "bytes a match's live stream keeps, about (fewer entries when frames are big)")               \
  XX(live_ttl_ms, MS, live_ttl_ms, 1000, (int64_t)7 * 24 * 3600 * 1000, "10m", D, D,               \
     "how long a live stream stays after the match's result")                                      \
  XX(watchers_per_match, INT, watchers_per_match, 0, 100000, "100", D, D,                          \
     "HTTP watchers of one match at once")                                                         \
  XX(watchers_per_host, INT, watchers_per_host, 0, 100000, "400", D, D,                            \
     "HTTP watchers of this host's matches at once")                                               \
  XX(http_per_ip, INT, http_per_ip, 0, 100000, "32", D, D,                                         \
     "connections one address may hold on the metrics server at once (0 = no cap)")                \
  XX(warm, BOOL, warm, 0, 0, "true", D, D, "warm player starts (false: every player cold)")        \
  XX(engine_accept, STR, engine_accept, 0, 0, "", DRBX, DRBX,                                      \
     "guarantees the operator accepts the engine cannot keep: build_network, host_unreachable, "   \
     "oom_verdict, build_wall_time (comma-separated; docs/security.md \"Engines\")")               \
  XX(base_images, STR, base_images, 0, 0, NULL, DRB, DRB,                                          \
     "images FROM may name besides judger/debian:bookworm (default: judger-test/*)")               \
  XX(build_allow, STR, build_allow, 0, 0, NULL, DRB, DRB,                                          \
     "host names the build proxy lets RUN steps reach (default: Debian, npm, PyPI)")               \
  XX(debian_mirror, STR, debian_mirror, 0, 0, NULL, DRB, DRB,                                      \
     "the mirror the base image is made from (default: http://deb.debian.org/debian)")             \
  XX(program_roots, STR, program_roots, 0, 0, NULL, DRB, D,                                        \
     "directories a task's programs may name (default: <state_dir>/artifacts)")                    \
  XX(allow_root_user, BOOL, allow_root_user, 0, 0, "false", DRB, D,                                \
     "a task may run its containers as root or the image's user")                                  \
  XX(build_networks, STR, build_networks, 0, 0, NULL, DRB, D,                                      \
     "networks a build's RUN steps may ask for (default: proxy,none)")                             \
  XX(git_schemes, STR, git_schemes, 0, 0, NULL, DRB, D,                                            \
     "git sources a task may name (default: https,ssh)")                                           \
  XX(fetch_private, BOOL, fetch_private, 0, 0, "false", DRB, D,                                    \
     "the judger's fetches may reach private addresses")                                           \
  XX(max_cpus, I64, ceiling[JD_CEIL_CPUS], 1, JD_BUILD_CPUS_MAX, NULL, DRB, D,                     \
     "largest cpus a task may ask (default 8)")                                                    \
  XX(max_memory, SIZE, ceiling[JD_CEIL_MEMORY], 6 << 20, (int64_t)1 << 42, NULL, DRB, D,           \
     "largest memory a task may ask (default 16g)")                                                \
  XX(max_pids, I64, ceiling[JD_CEIL_PIDS], 1, 1 << 22, NULL, DRB, D,                               \
     "largest process limit a task may ask (default 4096)")                                        \
  XX(max_tmpfs, SIZE, ceiling[JD_CEIL_TMPFS], 1 << 20, (int64_t)1 << 40, NULL, DRB, D,             \
     "largest tmpfs a task may ask (default 1g)")                                                  \
  XX(max_log, SIZE, ceiling[JD_CEIL_LOG], 1024, (int64_t)1 << 40, NULL, DRB, D,                    \
     "largest log a task may keep (default 64m)")                                                  \
  XX(max_out, SIZE, ceiling[JD_CEIL_OUT], 0, (int64_t)1 << 40, NULL, DRB, D,                       \
     "largest outputs a task may keep (default 1g)")                                               \
  XX(max_wall_ms, MS, ceiling[JD_CEIL_WALL_MS], 1000, (int64_t)7 * 24 * 3600 * 1000, NULL, DRB, D, \
     "longest wall time a task may ask (default 1 h)")                                             \
  XX(max_deadline_ms, MS, ceiling[JD_CEIL_DEADLINE_MS], 1000, (int64_t)7 * 24 * 3600 * 1000, NULL, \
     DRB, D, "longest match deadline a task may ask (default 2 h)")                                \
  XX(max_instances, I64, ceiling[JD_CEIL_INSTANCES], 1, 10000, NULL, DRB, D,                       \
     "most instances a match may ask (default 1000)")                                              \
  XX(max_players, I64, ceiling[JD_CEIL_PLAYERS], 1, JD_MATCH_MAX_AIS, NULL, DRB, D,                \
     "most players a match may ask (default 16)")                                                  \
  XX(max_concurrent, I64, ceiling[JD_CEIL_CONCURRENT], 1, 256, NULL, DRB, D,                       \
     "most players a match may run at once (default 16)")                                          \
  XX(max_starts_per_sec, I64, ceiling[JD_CEIL_STARTS_PER_SEC], 1, 10000, NULL, DRB, D,             \
     "most player starts per second a match may ask (default 100)")                                \
  XX(max_line, SIZE, ceiling[JD_CEIL_LINE], 256, 16 << 20, NULL, DRB, D,                           \
     "longest protocol line a match may ask (default 1m)")                                         \
  XX(max_end_grace_ms, MS, ceiling[JD_CEIL_END_GRACE_MS], 0, 600 * 1000, NULL, DRB, D,             \
     "longest end grace a match may ask (default 60 s)")

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
  bool lookahead;     /* prepare the next entry while every slot is busy */
  int max_attempts;   /* attempts before a task goes to the dead letters */
  int upload_retries; /* tries per artifact upload */
  int64_t upload_timeout_ms;
  int64_t upload_gzip_min_bytes; /* outputs this big are gzipped before upload; 0 = logs only */
  bool reap_dead_hosts;          /* also clean up containers of registered hosts that died */
  int64_t reconcile_ms;          /* period of the reconciliation sweep; 0 = none */
  /* each sweep at start, after the engine came back or after a system
   * fault is made once more this much later (creates still in flight) */
  int64_t reconcile_grace_ms;
  int64_t entry_max_bytes; /* a longer entry is dead-lettered unread */
  int entry_max_depth;     /* deeper JSON nesting is dead-lettered */
  char *log_level;         /* debug, info, warn, error */
  char *net_pool;          /* CIDR the match networks are carved from; "" = engine's */
  int build_jobs;          /* a match's program builds at once; 0 = CPUs, at most 4 */
  int net_stock;           /* networks kept ready between matches (match/net_stock.h) */
  /* Cores for limits.cpuset "auto" (match/cpu_pool.h; "" = the engine's),
   * where clocks read (auto, api, cgroup) and the cgroup mount: jd_ctx's
   * fields of the same names (jd_config_cores). */
  char *cpu_pool;
  char *clock_backend;
  char *cgroup_root;
  bool log_json; /* one JSON object per log line */
  /* The host guard (guard.h): under disk_low free bytes or disk_low_inodes
   * percent free inodes no task is taken and space is reclaimed, until
   * both high marks are passed again; engine and disks checked every
   * guard_ms. engine_root: "auto" (DockerRootDir from /info when that path
   * exists here), "none", or the path to watch. */
  int64_t disk_low, disk_high;
  int disk_low_inodes, disk_high_inodes;
  int64_t guard_ms;
  char *engine_root;
  char *metrics_listen; /* ADDR:PORT serving GET /metrics; "" = off */
  bool warm;            /* warm player starts (match/warm.h); default true */
  /* Live streams (docs/watching.md): the token key's file ("" = no HTTP
   * streams), what a match's stream keeps (entries and bytes, the latest),
   * how long it stays after the result, and the HTTP watcher caps. */
  char *watch_key_file;
  /* Writes that must survive a failover wait for this many replicas
   * (-1 = auto), this long at most (docs/queue.md "Failover"). */
  int min_replicas_acked;
  int64_t replica_wait_ms;
  int live_entries;
  int64_t live_max_bytes;
  int64_t live_ttl_ms;
  int watchers_per_match, watchers_per_host;
  int http_per_ip; /* connections one address may hold on the metrics server */
  /* What a task may ask of this host (common/policy.h, docs/daemon.md):
   * NULL strings and 0 ceilings are the policy's safe defaults. */
  char *program_roots;
  bool allow_root_user;
  char *build_networks;
  char *git_schemes;
  bool fetch_private;
  /* Images program Dockerfiles may name besides the judger's base image
   * (build/dockerfile.h); NULL = JD_BASE_IMAGES_DEFAULT. */
  char *engine_accept;
  char *base_images;
  /* The build proxy's allow-list (build/build_net.h) and the base image's
   * Debian mirror (build/base_image.h); NULL = their defaults. */
  char *build_allow;
  char *debian_mirror;
  int64_t ceiling[JD_CEIL_COUNT];
  /* Caps of a match's inputs (match/input_cache.h) and of a task's
   * published outputs (daemon/publish.h): jd_ctx's fields (jd_config_cores). */
  int64_t input_max_bytes, publish_max_bytes;
  char *config_file; /* the file that was read, or NULL */
} jd_config;

/* Sets the defaults (allocates); free with jd_config_clear(). */
int jd_config_defaults(jd_config *c);
void jd_config_clear(jd_config *c);

/* Sets one key from text; -1 with err naming the key when it is unknown or
 * the value bad. Dashes and underscores in keys are the same. */
int jd_config_set(jd_config *c, const char *key, const char *value, char *err, size_t errlen);

/* The checks made once every layer is set: the state dir made absolute (a
 * relative one would reach the engine as a volume name), the disk marks'
 * high not under their low. 0, or -1 with err. */
int jd_config_finish(jd_config *c, char *err, size_t errlen);

/* The policy c gives (its strings still c's). */
void jd_config_policy(jd_policy *out, const jd_config *c);

/* Sets ctx's cpu_pool, clock_backend and cgroup_root from c (c's strings,
 * which must outlive ctx's use of them; "" cpu_pool = NULL), and its
 * input_max_bytes and publish_max_bytes. */
void jd_config_cores(jd_ctx *ctx, const jd_config *c);

/* Deep copy of src into dst (dst's old content is not freed); -1 when
 * memory runs out (dst then holds nothing to free). */
int jd_config_copy(jd_config *dst, const jd_config *src);

/* The log_level setting as a level (info when unset). */
jd_log_level jd_config_log_level(const jd_config *c);

/* True when key names a setting. */
bool jd_config_key_known(const char *key);

#endif
