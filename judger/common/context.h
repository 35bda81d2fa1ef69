/* What every judger module needs: the engine client, where state lives, who
 * this host is. One per process; modules take it by pointer.
 *
 * The host id and the state directory are decided here and nowhere else, so
 * `judger build`, `judger run` and the daemon label and store alike (a
 * reconciliation by host label finds every command's leftovers). */
#ifndef JD_CONTEXT_H
#define JD_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/engine.h"
#include "common/policy.h"
#include "dockerapi/dockerapi.h"

typedef struct jd_ctx {
  dk_client *dk;
  /* Per-host state: caches of git mirrors, build artifacts, match work
   * directories. Default jd_state_dir_default(). */
  const char *state_dir;
  /* Labels every container/network the judger creates carry
   * "judger.host=<host_id>" so leftovers can be reconciled. */
  const char *host_id;
  /* The IPv4 range (CIDR, e.g. "10.240.0.0/16") match networks are carved
   * from, so 100+ players fit where the engine's default pools hold ~30
   * networks. NULL = JD_NET_POOL_DEFAULT; "" = the engine's own pools. */
  const char *net_pool;
  /* Program builds a match runs at once while preparing (game logic and
   * players); 0 = jd_build_jobs_default(). */
  int build_jobs;
  /* Warm player starts off for every match (match/warm.h; the daemon's
   * "warm" setting). */
  bool warm_off;
  /* What a task may ask of this host (common/policy.h): checked by the
   * commands and the daemon before a spec or request runs. Zero = the
   * safe defaults. */
  jd_policy policy;
  /* Images a program's Dockerfile may name in FROM / COPY --from /
   * RUN --mount=from= (build/dockerfile.h), besides the judger's base
   * image: comma-separated patterns. NULL = JD_BASE_IMAGES_DEFAULT. */
  const char *base_images;
  /* Host names the build proxy lets RUN steps reach (build/build_net.h):
   * comma-separated. NULL or "" = JD_BUILD_ALLOW_DEFAULT. */
  const char *build_allow;
  /* The Debian mirror the base image is made from (build/base_image.h).
   * NULL or "" = JD_BASE_MIRROR. */
  const char *debian_mirror;
  /* The engine's image store (jd_image_store), learnt once by
   * build/image_cache.c; read and written with __atomic builtins, as the
   * build threads share the context. Zero (unknown) to start with. */
  int image_store;
  /* The stock of ready networks matches take theirs from
   * (match/net_stock.h); NULL = every match makes and removes its own. Set
   * by the command that owns the context. */
  struct jd_net_stock *net_stock;
  /* Cores matches with limits.cpuset "auto" lease theirs from
   * (match/cpu_pool.h), a cpuset list ("0-7", "2,4-6"); NULL or "" = every
   * CPU the engine reports. */
  const char *cpu_pool;
  /* Where the engine's cgroups are read and frozen for turn clocks and
   * accounting (match/cgroup_meter.h): "auto" (NULL): the host's cgroup
   * files when they are there, else the API; "api"; "cgroup". */
  const char *clock_backend;
  /* The host's cgroup mount; NULL = "/sys/fs/cgroup". */
  const char *cgroup_root;
  /* Largest file a match's input may bring into the host's cache, and
   * largest output a task may publish to Redis (match/input_cache.h;
   * settings input_max_bytes, publish_max_bytes); 0 = their defaults. */
  int64_t input_max_bytes, publish_max_bytes;
  /* The engine's profile (common/engine.h): learnt once by jd_ctx_engine,
   * which sets engine_known (read and written with __atomic builtins). */
  jd_engine engine;
  int engine_known;
  /* Guarantees the operator accepts this engine does not keep (setting
   * engine_accept, parsed by jd_engine_accept_parse): mask of (1u << g). */
  unsigned engine_accept;
} jd_ctx;

typedef enum jd_image_store {
  JD_IMAGE_STORE_UNKNOWN = 0,
  JD_IMAGE_STORE_GRAPH,      /* a graph driver (overlay2, vfs...) */
  JD_IMAGE_STORE_CONTAINERD, /* the containerd image store (Docker 29's default) */
} jd_image_store;

/* The number of online CPUs, from 1 to 4: builds are CPU- and disk-bound,
 * and the engine's build cache is shared by them. */
int jd_build_jobs_default(void);

#define JD_NET_POOL_DEFAULT "10.240.0.0/16"

#define JD_STATE_DIR_DEFAULT "/var/lib/judger"
#define JD_HOST_ID_MAX 64

/* JD_STATE_DIR_DEFAULT: the state directory when no setting names one
 * (the commands read $JUDGER_STATE_DIR and the rest: cli/settings.h). */
const char *jd_state_dir_default(void);

/* The state directory to use: given when set and not empty, else
 * jd_state_dir_default(), made absolute against the working directory
 * (match directories are bind-mounted, and the engine takes a relative
 * source for a volume name). 0, or -1 when it does not fit in n or the
 * working directory is unknown. */
int jd_state_dir_abs(char *out, size_t n, const char *given);

/* <state_dir>/locks (state_dir NULL: the default), made 0700 when missing
 * and opened without following a link: where the judger's flock leases
 * live (builds, pooled networks, cores). 0 with *fd, or -1 with errno. */
int jd_state_locks_open(int *fd, const char *state_dir);

/* This host's id when no setting names one: the host name, through
 * jd_host_id_from(). */
void jd_host_id(char out[JD_HOST_ID_MAX + 1]);

/* The one rule for host ids: lower-cased, every character outside
 * [a-z0-9_.-] becomes '-', at most JD_HOST_ID_MAX characters, a leading
 * '_', '.' or '-' becomes 'h' (label values and Redis keys start with an
 * alphanumeric), "judger" when nothing is left. The result always passes
 * jd_is_safe_name(out, JD_HOST_ID_MAX). */
void jd_host_id_from(char out[JD_HOST_ID_MAX + 1], const char *name);

#endif
