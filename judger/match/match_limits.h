/* Container limits of a match role -> the engine's HostConfig. */
#ifndef JD_MATCH_LIMITS_H
#define JD_MATCH_LIMITS_H

#include "dockerapi/containers.h"
#include "match/match_spec.h"

/* Size of /dev/shm: the engine gives 64 MiB of host memory outside the
 * memory limit's tmpfs accounting otherwise; /tmp is the place to write. */
#define JD_SHM_SIZE ((int64_t)64 << 10)

/* Storage for the strings and arrays a dk_host_config points to; it must
 * outlive the host config. */
typedef struct jd_limits_store {
  dk_kv tmpfs[2];
  char tmpfs_opts[96];
  char out_opts[128];
  dk_kv log_opts[2];
  char log_size[32];
  const char *cap_drop[2];
  const char *security_opt[3];
  const char *dns[1];
} jd_limits_store;

/* Fills hc (zeroed first) with the role's limits: NanoCpus, Memory with
 * MemorySwap equal (no swap), PidsLimit, read-only root, tmpfs /tmp with its
 * size, CapDrop ALL, no-new-privileges, the judger's seccomp profile
 * (seccomp.h), a 64 KiB /dev/shm, an init, no core dumps, no DNS
 * servers beyond the network's own, the json-file log driver with a size cap
 * (the judger keeps its own capped copy; the engine's must not fill the
 * disk), and network_mode = network. Binds are left to the caller. */
void jd_limits_host_config(dk_host_config *hc, jd_limits_store *st, const jd_role_limits *l,
                           const char *network);

/* The game logic's /judger/out (hc filled by jd_limits_host_config first):
 * a tmpfs of out_max bytes and at most twice JD_OUT_FILES_MAX inodes, so
 * the game cannot fill the host's disk whatever it writes; and no init,
 * since judger-hold is PID 1 there (match/hold.h). */
void jd_limits_game_logic_out(dk_host_config *hc, jd_limits_store *st, int64_t out_max);

#endif
