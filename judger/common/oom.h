/* Whether the engine OOM-killed a container, when its inspect does not say
 * so (builds and matches ask the same question). */
#ifndef JD_OOM_H
#define JD_OOM_H

#include <stdbool.h>
#include <stdint.h>

#include "dockerapi/dockerapi.h"

/* Whether the engine logged an "oom" event for container id since since_ms
 * (Unix ms). Docker 20.10 sets State.OOMKilled only when containerd's OOM
 * event comes in before the exit event (moby#38352); when it comes after,
 * inspect says false but the event is still logged, so the events are read
 * until 3-4 s from now (a loaded engine logged it more than a second
 * late). Asked only for a SIGKILL (137) that was not the judger's: a cgroup
 * OOM kill is a SIGKILL. */
bool jd_oom_reported(dk_client *dk, const char *id, int64_t since_ms);

#endif
