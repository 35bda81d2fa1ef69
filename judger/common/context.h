/* What every judger module needs: the engine client, where state lives, who
 * this host is. One per process; modules take it by pointer. */
#ifndef JD_CONTEXT_H
#define JD_CONTEXT_H

#include "dockerapi/dockerapi.h"

typedef struct jd_ctx {
  dk_client *dk;
  /* Per-host state: caches of git mirrors, build artifacts, match work
   * directories. Default /var/lib/judger, or $JUDGER_STATE_DIR. */
  const char *state_dir;
  /* Labels every container/network the judger creates carry
   * "judger.host=<host_id>" so leftovers can be reconciled. */
  const char *host_id;
} jd_ctx;

#define JD_LABEL_HOST "judger.host"
#define JD_LABEL_MATCH "judger.match"
#define JD_LABEL_ROLE "judger.role"
#define JD_LABEL_TASK "judger.task"

#endif
