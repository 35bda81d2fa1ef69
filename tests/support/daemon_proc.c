/* The real `judger daemon` in a child process (see daemon_proc.h). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/labels.h"
#include "daemon_proc.h"
#include "support.h"

t_proc *t_daemon_spawn(const char *redis_url, const char *host, const char *state,
                       const char *extra) {
  t_proc *p = calloc(1, sizeof *p);
  p->host = strdup(host);
  p->state = strdup(state);
  cr_assert(asprintf(&p->log, "%s/daemon-%s.log", state, host) > 0);
  char *cmd = NULL;
  cr_assert(asprintf(&cmd,
                     "exec %s/bin/judger daemon --redis %s --host-id %s --state-dir %s --slots 1 "
                     "--lease-ms 2000 --block-ms 300 --grace-ms 1500 --log-json true "
                     /* The tasks' programs: the checkout's and the tests' temporary ones. */
                     "--program-roots %s,/tmp %s 2>>%s",
                     JD_BINARY_DIR, redis_url, host, state, JD_SOURCE_DIR, extra ? extra : "",
                     p->log) > 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    /* Dies with the test: a failed assertion ends the test's process, and a
     * daemon left running would hold ctest's output pipe open until the
     * suite's timeout. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
      _exit(127);
    setenv("JUDGER_CONFIG", "", 1); /* never a host's /etc/judger */
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  p->pid = pid;
  return p;
}

t_proc *t_daemon_spawn_on(const char *docker_host, const char *redis_url, const char *host,
                          const char *state, const char *extra) {
  const char *was = getenv("DOCKER_HOST");
  char *saved = was ? strdup(was) : NULL;
  setenv("DOCKER_HOST", docker_host, 1);
  t_proc *p = t_daemon_spawn(redis_url, host, state, extra);
  if (saved)
    setenv("DOCKER_HOST", saved, 1);
  else
    unsetenv("DOCKER_HOST");
  free(saved);
  return p;
}

int t_proc_wait(t_proc *p, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int st = 0;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
      p->pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    usleep(20000);
  }
  return -1;
}

/* The idle stock networks a daemon leaves for the next process of its
 * host (match/net_stock.h): a test's host has none. */
static void drop_stock(const char *host) {
  dk_client *c = NULL;
  if (!host || dk_client_new(&c, NULL))
    return;
  char label[160], role[64];
  snprintf(label, sizeof label, "judger.host=%s", host);
  snprintf(role, sizeof role, "%s=%s", JD_LABEL_ROLE, JD_ROLE_NET_STOCK);
  const char *labels[] = {label, role, NULL};
  dk_network_list *nl = NULL;
  if (dk_network_list_by_label(&nl, c, labels) == 0)
    for (size_t i = 0; i < nl->count; i++)
      dk_network_remove(c, nl->items[i].id);
  dk_network_list_free(nl);
  dk_client_free(c);
}

void t_proc_free(t_proc *p) {
  if (!p)
    return;
  if (p->pid > 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
  }
  drop_stock(p->host);
  free(p->host);
  free(p->state);
  free(p->log);
  free(p);
}

static void host_label(char *out, size_t n, const char *host) {
  snprintf(out, n, "judger.host=%s", host);
}

size_t t_host_containers(dk_client *c, const char *host) {
  char label[160];
  host_label(label, sizeof label, host);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, c, true, labels));
  size_t n = l->count;
  dk_container_list_free(l);
  return n;
}

size_t t_host_networks(dk_client *c, const char *host) {
  char label[160], role[64];
  host_label(label, sizeof label, host);
  snprintf(role, sizeof role, "%s=%s", JD_LABEL_ROLE, JD_ROLE_NET_STOCK);
  const char *labels[] = {label, NULL}, *stock[] = {label, role, NULL};
  dk_network_list *l = NULL, *sl = NULL;
  t_ok(dk_network_list_by_label(&l, c, labels));
  t_ok(dk_network_list_by_label(&sl, c, stock));
  /* The stock's empty networks stay by design (match/net_stock.h). */
  size_t n = l->count - sl->count;
  for (size_t i = 0; i < sl->count; i++) {
    dk_network_info *info = NULL;
    if (dk_network_inspect(&info, c, sl->items[i].id) == 0 && info->ncontainers)
      n++;
    dk_network_info_free(info);
  }
  dk_network_list_free(l);
  dk_network_list_free(sl);
  return n;
}

void t_wait_host_containers(dk_client *c, const char *host, size_t at_least, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (t_host_containers(c, host) >= at_least)
      return;
    usleep(100000);
  }
  cr_assert_fail("no container of %s appeared", host);
}

void t_cleanup_host(dk_client *c, const char *host) {
  char label[160];
  host_label(label, sizeof label, host);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  if (dk_container_list_by_label(&l, c, true, labels) == 0) {
    for (size_t i = 0; i < l->count; i++)
      dk_container_remove(c, l->items[i].id, true, true);
    dk_container_list_free(l);
  }
  dk_network_list *nl = NULL;
  if (dk_network_list_by_label(&nl, c, labels) == 0) {
    for (size_t i = 0; i < nl->count; i++)
      dk_network_remove(c, nl->items[i].id);
    dk_network_list_free(nl);
  }
}

size_t t_workdirs(const char *state) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/matches", state);
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  size_t n = 0;
  for (struct dirent *de = readdir(d); de; de = readdir(d))
    n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

char *t_task_field(jd_queue *q, const char *task_id, const char *field) {
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, jd_queue_redis(q), "HGET judger:task:%s %s", task_id, field))
    return NULL;
  char *s = jd_reply_str(rep) ? strdup(rep->str) : NULL;
  freeReplyObject(rep);
  return s;
}

char *t_wait_task_state(jd_queue *q, const char *task_id, const char *state, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    char *s = t_task_field(q, task_id, "state");
    if (s && !strcmp(s, state)) {
      free(s);
      return t_task_field(q, task_id, "host");
    }
    free(s);
    usleep(50000);
  }
  cr_assert_fail("task %s never reached state %s", task_id, state);
  return NULL;
}

int t_json_int(const char *json, const char *obj, const char *key) {
  json_object *o = json_tokener_parse(json), *v = NULL;
  json_object *in = o;
  if (obj)
    json_object_object_get_ex(o, obj, &in);
  int n = json_object_object_get_ex(in, key, &v) ? json_object_get_int(v) : -1;
  json_object_put(o);
  return n;
}

struct json_object *t_heartbeat(jd_queue *q, const char *host) {
  redisReply *rep = NULL;
  if (jd_redis_command(&rep, jd_queue_redis(q), "GET judger:host:%s", host))
    return NULL;
  json_object *o = jd_reply_str(rep) ? json_tokener_parse(rep->str) : NULL;
  freeReplyObject(rep);
  return o;
}

long long t_wait_paused(jd_queue *q, const char *host, const char *want, long long after_ms,
                        int timeout_ms, const char *log) {
  char last[64] = "(no heartbeat)";
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    json_object *hb = t_heartbeat(q, host), *paused = NULL, *upd = NULL;
    if (hb && json_object_object_get_ex(hb, "paused", &paused) &&
        json_object_object_get_ex(hb, "updated_ms", &upd)) {
      const char *now = paused ? json_object_get_string(paused) : NULL;
      long long at = json_object_get_int64(upd);
      snprintf(last, sizeof last, "%s", now ? now : "null");
      bool same = want ? now && !strcmp(now, want) : now == NULL;
      if (same && at > after_ms) {
        json_object_put(hb);
        return at;
      }
    }
    json_object_put(hb);
    usleep(50000);
  }
  cr_assert_fail("host %s: heartbeat paused is %s, not %s (log %s)", host, last,
                 want ? want : "null", log);
  return 0;
}

jd_queue *t_queue_client(const char *redis_url) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = redis_url, .consumer = "test-client"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

char *t_game_match_json(const char *id, int turns) {
  char *json = NULL;
  if (asprintf(&json,
               "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
               "\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/programs/"
               "daemon_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\","
               "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"config\":{\"turns\":%d}}}",
               id, id, JD_SOURCE_DIR, turns) < 0)
    return NULL;
  return json;
}

void t_submit_game_match(jd_queue *q, const char *id, int turns) {
  char *json = t_game_match_json(id, turns);
  cr_assert_not_null(json);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
  free(json);
}

char *t_wait_result(jd_queue *q, const char *id, int timeout_ms, const char *log) {
  char *res = NULL;
  for (int w = 0; w < timeout_ms && jd_queue_get_result(&res, q, id) == 0 && !res; w += 100)
    usleep(100000);
  cr_assert_not_null(res, "no result for %s (log %s)", id, log);
  return res;
}

void t_daemon_wait_ready(jd_daemon *d, const char *host) {
  for (int64_t until = jd_mono_ms() + 5000;;) {
    jd_daemon_stats st;
    jd_daemon_stats_get(d, &st);
    if (st.ready)
      return;
    cr_assert(jd_mono_ms() < until, "daemon %s did not get ready", host);
    usleep(10000);
  }
}
