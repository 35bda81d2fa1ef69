/* Container limits of a match role -> the engine's HostConfig, and the
 * mapping from how a container ended to its verdict. */
#ifndef JD_MATCH_LIMITS_H
#define JD_MATCH_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "dockerapi/containers.h"
#include "match/match.h"

/* Why the judger killed a container (the first reason wins). */
typedef enum {
  JD_KILL_NONE = 0,
  JD_KILL_STOP,   /* the game logic asked ("stop") */
  JD_KILL_END,    /* the match is over */
  JD_KILL_TLE,    /* past its wall time or the match deadline */
  JD_KILL_OLE,    /* its log went past the cap */
  JD_KILL_CANCEL, /* the match was cancelled */
} jd_kill_reason;

/* Storage for the strings and arrays a dk_host_config points to; it must
 * outlive the host config. */
typedef struct jd_limits_store {
  dk_kv tmpfs[1];
  char tmpfs_opts[96];
  dk_kv log_opts[2];
  char log_size[32];
  dk_ulimit ulimits[1];
  const char *cap_drop[2];
  const char *security_opt[2];
  const char *dns[1];
} jd_limits_store;

/* Fills hc (zeroed first) with the role's limits: NanoCpus, Memory with
 * MemorySwap equal (no swap), PidsLimit, read-only root, tmpfs /tmp with its
 * size, CapDrop ALL, no-new-privileges, an init, no core dumps, no DNS
 * servers beyond the network's own, the json-file log driver with a size cap
 * (the judger keeps its own capped copy; the engine's must not fill the
 * disk), and network_mode = network. Binds are left to the caller. */
void jd_limits_host_config(dk_host_config *hc, jd_limits_store *st, const jd_role_limits *l,
                           const char *network);

/* The verdict of a container: UE (engine failure) > MLE (OOM-killed) >
 * TLE/OLE (killed for it) > OK (stopped by the game logic or the end of the
 * match) > RE (non-zero exit) > OK. Static string. */
const char *jd_verdict_of(bool engine_error, bool oom_killed, jd_kill_reason kill, int64_t exit_code);

const char *jd_kill_reason_name(jd_kill_reason r);

#endif
