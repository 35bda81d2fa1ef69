/* The real `judger daemon` in a child process, for end-to-end tests of the
 * fleet (kill -9, SIGSTOP, SIGTERM, engine restarts), and what those tests
 * look at: a host's labelled containers, networks and work directories,
 * and a task's status record. */
#ifndef JD_TEST_DAEMON_PROC_H
#define JD_TEST_DAEMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/daemon.h"
#include "dockerapi/dockerapi.h"
#include "queue/queue.h"

typedef struct t_proc {
  pid_t pid; /* 0 once reaped */
  char *host, *state, *log;
} t_proc;

/* Starts `judger daemon` on redis_url with its own state dir (1 slot, lease
 * 2 s, block 300 ms, grace 1.5 s, JSON logs; extra flags may override);
 * stderr goes to <state>/daemon-<host>.log. Free with t_proc_free(). */
t_proc *t_daemon_spawn(const char *redis_url, const char *host, const char *state,
                       const char *extra);
/* t_daemon_spawn with DOCKER_HOST=docker_host for the daemon only (the
 * test's own environment is put back). */
t_proc *t_daemon_spawn_on(const char *docker_host, const char *redis_url, const char *host,
                          const char *state, const char *extra);
/* Exit code (128 + signal when killed), or -1 when still running after
 * timeout_ms. */
int t_proc_wait(t_proc *p, int timeout_ms);
/* SIGKILLs a process still running, reaps it and frees p. */
void t_proc_free(t_proc *p);

/* Containers (any state) and networks labelled judger.host=<host>. */
size_t t_host_containers(dk_client *c, const char *host);
size_t t_host_networks(dk_client *c, const char *host);
/* Waits until the host has at least that many containers; fails after. */
void t_wait_host_containers(dk_client *c, const char *host, size_t at_least, int timeout_ms);
/* Removes what a test's daemon left (containers, then networks). */
void t_cleanup_host(dk_client *c, const char *host);
/* Entries under <state>/matches (match work directories). */
size_t t_workdirs(const char *state);

/* A field of the task's status record (judger:task:<id>); NULL when unset.
 * The caller frees it. */
char *t_task_field(jd_queue *q, const char *task_id, const char *field);
/* Waits until the task's state is `state`; returns its host (caller
 * frees); fails the test after timeout_ms. */
char *t_wait_task_state(jd_queue *q, const char *task_id, const char *state, int timeout_ms);
/* An integer member of a JSON text (of its member obj when not NULL);
 * -1 when missing. */
int t_json_int(const char *json, const char *obj, const char *key);

/* Waits (5 s at most) for a daemon run on a thread of the test to be
 * ready to take tasks; fails the test naming host otherwise. */
void t_daemon_wait_ready(jd_daemon *d, const char *host);
/* A queue client on redis_url (consumer "test-client"); free with
 * jd_queue_free(). */
jd_queue *t_queue_client(const char *redis_url);
/* The task JSON of a match of the daemon test game
 * (tests/judger/programs/daemon_game: `turns` seconds of progress, one idle
 * player) as task `id`; the caller frees it. NULL when out of memory. */
char *t_game_match_json(const char *id, int turns);
/* Submits t_game_match_json(id, turns); fails the test when refused. */
void t_submit_game_match(jd_queue *q, const char *id, int turns);
/* Waits for the task's result (the caller frees it); fails after
 * timeout_ms, naming the daemon's log. */
char *t_wait_result(jd_queue *q, const char *id, int timeout_ms, const char *log);

/* The host's heartbeat (judger:host:<host>) as a JSON object, or NULL when
 * it has none. The caller puts it. */
struct json_object *t_heartbeat(jd_queue *q, const char *host);
/* Waits until the heartbeat's "paused" is want (NULL: not paused, null)
 * and its updated_ms is past after_ms (0: any); fails after timeout_ms.
 * Returns the heartbeat's updated_ms. */
long long t_wait_paused(jd_queue *q, const char *host, const char *want, long long after_ms,
                        int timeout_ms, const char *log);

#endif
