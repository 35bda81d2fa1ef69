/* libdockerapi — containers. */
#ifndef DOCKERAPI_CONTAINERS_H
#define DOCKERAPI_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "stream.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dk_ulimit {
  const char *name; /* "nofile", "nproc", "fsize"... */
  int64_t soft, hard;
} dk_ulimit;

/* The HostConfig fields a judger needs. Zero values mean "engine default". */
typedef struct dk_host_config {
  int64_t nano_cpus; /* 1e9 = one CPU */
  int64_t cpu_quota, cpu_period;
  const char *cpuset_cpus;
  int64_t memory;      /* bytes */
  int64_t memory_swap; /* bytes; set equal to memory for "no swap"; -1 unlimited */
  int64_t pids_limit;  /* 0 = unset */
  const dk_ulimit *ulimits;
  size_t nulimits;
  bool readonly_rootfs;
  const dk_kv *tmpfs; /* path -> options ("rw,size=64m,mode=1777") */
  size_t ntmpfs;
  const char *const *binds;    /* "host:container[:ro]", NULL-terminated */
  const char *const *cap_drop; /* {"ALL", NULL} */
  const char *const *cap_add;
  const char *const *security_opt; /* {"no-new-privileges", NULL} */
  const char *network_mode;        /* "none", "bridge", a network name */
  int init;                        /* 1 = run an init as PID 1, 0 = unset */
  bool privileged;
  bool auto_remove;
  const char *log_type;  /* "json-file", "none"... */
  const dk_kv *log_opts; /* {"max-size","1m"} */
  size_t nlog_opts;
  const char *runtime; /* "runc", "runsc"... */
  int64_t shm_size;
  const char *const *dns; /* empty list for none */
  const char *const *extra_hosts;
  /* Namespaced kernel settings ({"net.ipv4.ip_forward","0"}); the engine
   * refuses those that are not the container's own. */
  const dk_kv *sysctls;
  size_t nsysctls;
} dk_host_config;

typedef struct dk_container_config {
  const char *image;
  const char *const *cmd;        /* NULL-terminated; NULL = image's CMD */
  const char *const *entrypoint; /* NULL = image's */
  const char *const *env;        /* "K=V", NULL-terminated */
  const char *user;
  const char *working_dir;
  const char *hostname;
  const dk_kv *labels;
  size_t nlabels;
  bool tty;
  bool open_stdin; /* keep stdin open for attach */
  bool stdin_once;
  bool network_disabled;
  int64_t stop_timeout; /* seconds; 0 = unset */
  const char *stop_signal;
  dk_host_config host;
  /* Endpoint on host.network_mode, with these aliases (NULL-terminated). */
  const char *const *aliases;
} dk_container_config;

/* POST /containers/create. name may be NULL. *id_out (malloc'd) is the new
 * container's id; the caller frees it. */
int dk_container_create(char **id_out, dk_client *c, const char *name,
                        const dk_container_config *cfg);
/* The same with a caller-built JSON body, for fields not modelled here. */
int dk_container_create_json(char **id_out, dk_client *c, const char *name, const char *json);

/* start and stop treat the engine's 304 ("already started/stopped") as
 * success, as moby's client does. */
int dk_container_start(dk_client *c, const char *id);
/* Stop with a grace period (seconds; <0 = engine default). */
int dk_container_stop(dk_client *c, const char *id, int timeout_s);
/* signal NULL = SIGKILL. */
int dk_container_kill(dk_client *c, const char *id, const char *signal);
int dk_container_remove(dk_client *c, const char *id, bool force, bool volumes);
/* call: a deadline and cancel token (NULL: none; a pause waits for the
 * runtime's freezer, which a loaded engine can hold for long). */
int dk_container_pause(dk_client *c, const char *id, const dk_call *call);
int dk_container_unpause(dk_client *c, const char *id, const dk_call *call);

/* POST /containers/{id}/wait. condition: NULL ("not-running"), "next-exit",
 * "removed". Blocks until then, the call's deadline or cancellation. An
 * "Error" in the engine's answer is DK_ESTREAM; *exit_code is -1 on error. */
int dk_container_wait(int64_t *exit_code, dk_client *c, const char *id, const char *condition,
                      const dk_call *call);

typedef struct dk_container_info {
  char *id;
  char *name;
  char *image;  /* image id */
  char *status; /* "created", "running", "exited"... */
  bool running;
  bool oom_killed;
  bool dead;
  int64_t exit_code;
  int pid;
  char *error;
  char *started_at; /* RFC 3339 as the engine sends it */
  char *finished_at;
  int64_t started_ns; /* the same, parsed: unix nanoseconds; 0 if unset */
  int64_t finished_ns;
  int restart_count;
  char *raw_json; /* the whole inspect answer */
} dk_container_info;

int dk_container_inspect(dk_container_info **out, dk_client *c, const char *id);
void dk_container_info_free(dk_container_info *info);

typedef struct dk_logs_opts {
  bool follow;
  bool stdout_; /* both false = both true */
  bool stderr_;
  int64_t since; /* unix seconds; 0 = from the start */
  int64_t until;
  int tail; /* 0 = all */
  bool timestamps;
  bool tty; /* the container has a TTY: raw stream, no frames */
} dk_logs_opts;

/* Streams logs to cb (stream = DK_STREAM_STDOUT/STDERR) as frames arrive.
 * With follow, returns when the container stops, the callback returns
 * non-zero (that value), the deadline passes or the call is canceled. */
int dk_container_logs(dk_client *c, const char *id, const dk_logs_opts *opts, dk_frame_cb cb,
                      void *ud, const dk_call *call);
/* Collects logs into two capped buffers (either may be NULL). Hitting a cap
 * sets its `truncated` flag and is not an error. */
int dk_container_logs_collect(dk_client *c, const char *id, const dk_logs_opts *opts, dk_buf *out,
                              dk_buf *err, const dk_call *call);

/* POST /containers/{id}/attach: stdin (may be NULL/0) is sent, then output
 * streams to cb until the container's streams close.
 * stdin_data non-NULL attaches stdin (the container needs open_stdin); once
 * it is all sent our half of the connection is closed, which closes the
 * container's stdin when it was created with stdin_once; input the
 * container exits without reading is dropped, not an error. Output written
 * before the attach is not replayed (use dk_container_logs for it): attach
 * before writing starts, e.g. to a container that waits for its input. */
int dk_container_attach(dk_client *c, const char *id, bool tty, const void *stdin_data,
                        size_t stdin_len, dk_frame_cb cb, void *ud, const dk_call *call);

/* GET /containers/{id}/archive?path=: the tar stream to cb. */
int dk_container_archive_get(dk_client *c, const char *id, const char *path,
                             int (*cb)(void *ud, const char *data, size_t len), void *ud,
                             const dk_call *call);
/* PUT /containers/{id}/archive?path=DIR with a tar in memory. */
int dk_container_archive_put(dk_client *c, const char *id, const char *dir, const void *tar,
                             size_t tar_len);

/* A figure the engine does not give is 0, but where said otherwise. */
typedef struct dk_container_stats {
  /* false: the engine took no sample (the container is not running; its
   * "read" time is the zero time): every figure below is 0 or -1. */
  bool sampled;
  int64_t memory_usage, memory_limit;
  int64_t memory_max_usage; /* -1: not given (cgroup v2 hosts) */
  int64_t cpu_total_ns, system_cpu_ns;
  /* CFS throttling (cpu_stats.throttling_data): the time the container's
   * tasks were throttled by its CPU quota and the periods they were; -1
   * when the engine gives no throttling data. */
  int64_t throttled_time_ns, throttled_periods;
  int64_t pids_current;
  char *raw_json;
} dk_container_stats;
/* GET /containers/{id}/stats?stream=false, and one-shot=true on API 1.41+
 * (without it the engine waits about 1 s for a second sample). */
int dk_container_stats_get(dk_container_stats **out, dk_client *c, const char *id,
                           const dk_call *call);
void dk_container_stats_free(dk_container_stats *s);

typedef struct dk_container_summary {
  char *id;
  char *name;  /* without the leading '/' */
  char *image; /* as created, in Docker's short form on every engine */
  char *state;
  char *status;
} dk_container_summary;

typedef struct dk_container_list {
  dk_container_summary *items;
  size_t count;
} dk_container_list;

/* GET /containers/json?all=1 filtered by labels (NULL-terminated "k=v"). */
int dk_container_list_by_label(dk_container_list **out, dk_client *c, bool all,
                               const char *const *labels);
void dk_container_list_free(dk_container_list *l);

/* POST /containers/prune with label filters: removes stopped containers.
 * *deleted (may be NULL) gets the count. At least one label is required
 * (DK_EINVAL otherwise): an unfiltered prune would empty a shared engine. */
int dk_container_prune(size_t *deleted, dk_client *c, const char *const *labels);

#ifdef __cplusplus
}
#endif
#endif
