/* Container limits (see match_limits.h). The header is not
 * called limits.h: judger/ is on the include path and would shadow <limits.h>. */
#include <stdio.h>
#include <string.h>

#include "match/create_compat.h"
#include "match/hold.h"
#include "match/match_limits.h"
#include "match/seccomp.h"

void jd_limits_host_config(dk_host_config *hc, jd_limits_store *st, const jd_role_limits *l,
                           const char *network) {
  memset(hc, 0, sizeof *hc);
  memset(st, 0, sizeof *st);
  hc->nano_cpus = (int64_t)(l->cpus * 1e9);
  hc->memory = l->memory;
  hc->memory_swap = l->memory; /* equal = no swap on top of memory */
  hc->pids_limit = l->pids;
  hc->readonly_rootfs = true;
  snprintf(st->tmpfs_opts, sizeof st->tmpfs_opts, "rw,nosuid,nodev,size=%lld,mode=1777",
           (long long)l->tmpfs);
  st->tmpfs[0].key = "/tmp";
  st->tmpfs[0].value = st->tmpfs_opts;
  hc->tmpfs = st->tmpfs;
  hc->ntmpfs = 1;
  st->cap_drop[0] = "ALL";
  hc->cap_drop = st->cap_drop;
  st->security_opt[0] = "no-new-privileges";
  st->security_opt[1] = jd_seccomp_security_opt();
  hc->shm_size = JD_SHM_SIZE;
  hc->security_opt = st->security_opt;
  /* No core dumps; jd_compat_apply adds nofile and nproc on Podman
   * (create_compat.h). */
  hc->ulimits = jd_create_ulimits;
  hc->nulimits = 1;
  hc->init = 1;
  hc->network_mode = network;
  hc->dns = st->dns; /* empty list: nothing outside the match network */
  /* The engine keeps its own json-file copy of the output we stream; cap it
   * so a flood cannot fill the host's disk before the judger kills it. */
  long long engine_cap = (long long)l->log_max * 4;
  if (engine_cap < 8 << 20)
    engine_cap = 8 << 20;
  snprintf(st->log_size, sizeof st->log_size, "%lld", engine_cap);
  st->log_opts[0] = (dk_kv){"max-size", st->log_size};
  st->log_opts[1] = (dk_kv){"max-file", "2"};
  hc->log_type = "json-file";
  hc->log_opts = st->log_opts;
  hc->nlog_opts = 2;
}

void jd_limits_game_logic_out(dk_host_config *hc, jd_limits_store *st, int64_t out_max) {
  /* tmpfs rounds a size of 0 up to "no limit": keep at least a page. */
  long long size = out_max > 4096 ? (long long)out_max : 4096;
  snprintf(st->out_opts, sizeof st->out_opts, "rw,nosuid,nodev,size=%lld,nr_inodes=%d,mode=1777",
           size, 2 * JD_OUT_FILES_MAX);
  st->tmpfs[1].key = JD_HOLD_OUT;
  st->tmpfs[1].value = st->out_opts;
  hc->ntmpfs = 2;
  hc->init = -1; /* "Init": false, whatever the engine's default */
}
