/* What a task may ask of this host: the operator's side of the trust
 * boundary (docs/security.md, "Who controls what").
 *
 * Whoever writes a task (the platform, through the queue or a spec given to
 * `judger run`/`judger build`) is trusted with less than the operator who
 * configures the host: a task names programs, limits and networks, and each
 * of those is held here to what the operator allows. Every field has a safe
 * default (its zero value); the daemon's settings and the commands' fill it
 * from the same keys (docs/daemon.md). The checks that use it are the
 * parts' own: match/match_policy.c for a match spec, build/build_policy.c
 * for a build request. A refusal names the field and the setting. */
#ifndef JD_POLICY_H
#define JD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of the settings below. */
#define JD_POLICY_BUILD_NETWORKS "proxy,none"
#define JD_POLICY_GIT_SCHEMES "https,ssh"
#define JD_POLICY_MAX_CPUS 8
#define JD_POLICY_MAX_MEMORY ((int64_t)16 << 30)
#define JD_POLICY_MAX_PIDS 4096
#define JD_POLICY_MAX_TMPFS ((int64_t)1 << 30)
#define JD_POLICY_MAX_LOG ((int64_t)64 << 20)
#define JD_POLICY_MAX_OUT ((int64_t)1 << 30)
#define JD_POLICY_MAX_WALL_MS ((int64_t)3600 * 1000)
#define JD_POLICY_MAX_DEADLINE_MS ((int64_t)2 * 3600 * 1000)
#define JD_POLICY_MAX_INSTANCES 1000
#define JD_POLICY_MAX_PLAYERS 16
#define JD_POLICY_MAX_CONCURRENT 16
#define JD_POLICY_MAX_STARTS_PER_SEC 100
#define JD_POLICY_MAX_LINE ((int64_t)1 << 20)
#define JD_POLICY_MAX_END_GRACE_MS ((int64_t)60 * 1000)

/* The ceilings a task's limits may reach (0 = the default above); a larger
 * value is refused, never clamped. */
#define JD_POLICY_CEILING_MAP(XX)                                                                  \
  XX(CPUS, "max_cpus", JD_POLICY_MAX_CPUS)                                                         \
  XX(MEMORY, "max_memory", JD_POLICY_MAX_MEMORY)                                                   \
  XX(PIDS, "max_pids", JD_POLICY_MAX_PIDS)                                                         \
  XX(TMPFS, "max_tmpfs", JD_POLICY_MAX_TMPFS)                                                      \
  XX(LOG, "max_log", JD_POLICY_MAX_LOG)                                                            \
  XX(OUT, "max_out", JD_POLICY_MAX_OUT)                                                            \
  XX(WALL_MS, "max_wall_ms", JD_POLICY_MAX_WALL_MS)                                                \
  XX(DEADLINE_MS, "max_deadline_ms", JD_POLICY_MAX_DEADLINE_MS)                                    \
  XX(INSTANCES, "max_instances", JD_POLICY_MAX_INSTANCES)                                          \
  XX(PLAYERS, "max_players", JD_POLICY_MAX_PLAYERS)                                                \
  XX(CONCURRENT, "max_concurrent", JD_POLICY_MAX_CONCURRENT)                                       \
  XX(STARTS_PER_SEC, "max_starts_per_sec", JD_POLICY_MAX_STARTS_PER_SEC)                           \
  XX(LINE, "max_line", JD_POLICY_MAX_LINE)                                                         \
  XX(END_GRACE_MS, "max_end_grace_ms", JD_POLICY_MAX_END_GRACE_MS)

typedef enum {
#define JD_POLICY_CEILING_ENUM(code, key, def) JD_CEIL_##code,
  JD_POLICY_CEILING_MAP(JD_POLICY_CEILING_ENUM)
#undef JD_POLICY_CEILING_ENUM
      JD_CEIL_COUNT
} jd_ceiling;

typedef struct jd_policy {
  /* Directories a program's `dir` may be under (comma-separated absolute
   * paths); NULL = "<state_dir>/artifacts" (the judger's own builds). */
  const char *program_roots;
  /* Containers may run as uid or gid 0, a user name, or the image's user
   * (which may be root). Off: only "uid:gid", each a number from 1 to
   * 2147483647 written plainly (no sign, no leading zero: the engine
   * takes a number it cannot parse for a user name, which the image may
   * map to 0; a uid alone gets the image's group, maybe 0). */
  bool allow_root_user;
  /* Networks a build's RUN steps may use (limits.image_network);
   * NULL = JD_POLICY_BUILD_NETWORKS. "host" and "container:*" are never
   * allowed, whatever the list says. */
  const char *build_networks;
  /* Git URL schemes a source may use: https, ssh, http, git, file (file
   * covers file:// and local paths); NULL = JD_POLICY_GIT_SCHEMES. */
  const char *git_schemes;
  /* The judger's own fetches (git, tarballs) may connect to loopback,
   * link-local and private addresses (common/netaddr.h): the host's
   * services, a cloud's metadata, the LAN. Off: public addresses only. */
  bool fetch_private;
  int64_t ceiling[JD_CEIL_COUNT]; /* 0 = the default */
} jd_policy;

/* The setting's key ("max_memory") and the ceiling in force. */
const char *jd_ceiling_key(jd_ceiling c);
int64_t jd_policy_ceiling(const jd_policy *p, jd_ceiling c);

/* 0 when value is at most the ceiling, else -1 with "<field>: <value> is
 * above this host's <key> (<ceiling>)" in err. */
int jd_policy_check_ceiling(const jd_policy *p, jd_ceiling c, const char *field, int64_t value,
                            char *err, size_t errlen);

/* Whether item is one of the comma-separated list's entries. */
bool jd_policy_list_has(const char *list, const char *item);

/* The scheme policy.git_schemes names for url: "https", "http", "ssh"
 * (ssh:// and scp-like user@host:path), "git", "file" (file:// and local
 * paths), or NULL for another scheme. */
const char *jd_git_url_scheme(const char *url);
/* 0 when url's scheme is allowed, else -1 with the reason in why. */
int jd_policy_git_url(const jd_policy *p, const char *url, char *why, size_t whylen);

/* 0 when dir is a directory strictly under one of the program roots (a
 * root itself would give a program every other one), reached from the
 * root without following a link (every component below the root is
 * opened O_NOFOLLOW) and with no "." or ".." component; else -1 with the
 * reason in why. */
int jd_policy_program_dir(const jd_policy *p, const char *state_dir, const char *dir, char *why,
                          size_t whylen);

/* 0 when a tarball URL's scheme is allowed: https always, http when
 * git_schemes lists it (one list for what the judger fetches). */
int jd_policy_tar_url(const jd_policy *p, const char *url, char *why, size_t whylen);

/* 0 when a container may run as user ("" = the image's user), else -1 with
 * the reason in why. */
int jd_policy_user(const jd_policy *p, const char *user, char *why, size_t whylen);

/* 0 when a build's RUN steps may use network (NULL = "proxy"). */
int jd_policy_build_network(const jd_policy *p, const char *network, char *why, size_t whylen);

#endif
