// test-labels: engine redis
/* One host id, one state dir, several judger processes (issue 21): a
 * daemon sweeping every second, a `judger run` match, a `judger build`
 * whose build takes seconds and a second daemon (on a Redis of its own)
 * never remove each other's containers, networks or work dirs; each runs
 * to its normal end. Killed with SIGKILL, each one's leftovers go with the
 * next sweep of the daemon that lives, its run file too
 * (common/run_owner.h, daemon/reconcile.c). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/labels.h"
#include "common/run_owner.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/reconcile.h"
#include "daemon_proc.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv_a, *srv_b;

static void up(void) {
  srv_a = t_redis_start(false, false);
  srv_b = t_redis_start(false, false);
}
static void down(void) {
  t_redis_stop(srv_a);
  t_redis_stop(srv_b);
}
TestSuite(shared_owners, .init = up, .fini = down, .timeout = 240);

/* The sweeping daemon's flags: a sweep every second, its second pass soon. */
#define SWEEPS "--reconcile-ms 1000 --reconcile-grace-ms 300"

/* A judger command (argument string, trusted) as a child on host and
 * state, stdout and stderr to <state>/<name>.out/.err. */
static t_proc *spawn_cli(const char *host, const char *state, const char *name, const char *args) {
  t_proc *p = calloc(1, sizeof *p);
  p->host = strdup(host);
  p->state = strdup(state);
  cr_assert(asprintf(&p->log, "%s/%s.err", state, name) > 0);
  char *cmd = NULL;
  cr_assert(asprintf(&cmd, "exec %s/bin/judger %s >%s/%s.out 2>%s", JD_BINARY_DIR, args, state,
                     name, p->log) > 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
      _exit(127);
    setenv("JUDGER_CONFIG", "", 1);
    setenv("JUDGER_HOST_ID", host, 1);
    setenv("JUDGER_STATE_DIR", state, 1);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  p->pid = pid;
  return p;
}

static char *slurp(const char *state, const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", state, name);
  FILE *f = fopen(path, "r");
  if (!f)
    return strdup("(none)");
  char *s = calloc(1, 1 << 16);
  size_t n = fread(s, 1, (1 << 16) - 1, f);
  s[n] = '\0';
  fclose(f);
  return s;
}

/* The match spec of the daemon test game (turns seconds long). */
static char *write_match_spec(const char *state, const char *id, int turns) {
  char *path = NULL, *json = NULL;
  cr_assert(asprintf(&path, "%s/%s.json", state, id) > 0);
  cr_assert(asprintf(&json,
                     "{\"id\":\"%s\",\"game_logic\":{\"id\":\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE
                     "\",\"dir\":\"%s/tests/judger/programs/daemon_game\",\"cmd\":[\"sh\","
                     "\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\",\"image\":\"" T_BUSYBOX_IMAGE
                     "\",\"cmd\":[\"true\"]}],\"config\":{\"turns\":%d}}",
                     id, JD_SOURCE_DIR, turns) > 0);
  cr_assert_eq(jd_write_file(path, json, strlen(json)), 0);
  free(json);
  return path;
}

/* A program whose build (its build.Dockerfile's CMD) takes secs seconds. */
static char *write_slow_program(int secs) {
  char *src = t_tmpdir("slowprog"), path[600], df[256];
  snprintf(path, sizeof path, "%s/run.Dockerfile", src);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nCMD [\"cat\", \"/app/out\"]\n");
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  char *mark = t_unique("m");
  snprintf(path, sizeof path, "%s/build.Dockerfile", src);
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"sleep %d; echo built > "
           "/app/out\"]\n",
           mark, secs);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  free(mark);
  return src;
}

/* Submits a build task of the program in src (as ai `bid`). */
static void submit_build(jd_queue *q, const char *task, const char *bid, const char *src) {
  char *json = NULL;
  cr_assert(asprintf(&json,
                     "{\"id\":\"%s\",\"type\":\"build\",\"build\":{\"domain\":\"ai\",\"id\":"
                     "\"%s\",\"dir\":\"%s\"}}",
                     task, bid, src) > 0);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_BUILD, task, json), 0, "%s", jd_queue_error(q));
  free(json);
}

/* Containers of host carrying label ("k=v"; NULL: any). */
static size_t containers_with(dk_client *c, const char *host, const char *label) {
  char hl[200];
  snprintf(hl, sizeof hl, "%s=%s", JD_LABEL_HOST, host);
  const char *labels[] = {hl, label, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, c, true, labels));
  size_t n = l->count;
  dk_container_list_free(l);
  return n;
}

static void wait_containers_with(dk_client *c, const char *host, const char *label, int timeout_ms,
                                 const char *what, const char *log) {
  for (int64_t until = jd_mono_ms() + timeout_ms; containers_with(c, host, label) == 0;) {
    cr_assert(jd_mono_ms() < until, "%s never made a container (log %s)", what, log);
    usleep(100000);
  }
}

static size_t entries(const char *state, const char *sub) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/%s", state, sub);
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  size_t n = 0;
  for (struct dirent *de = readdir(d); de; de = readdir(d))
    n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

/* A leftover of no live run: a created container and a network with the
 * host's label. Returns the container's id. */
static char *decoy(dk_client *c, const char *host) {
  char *name = t_unique("jd-sowner-decoy");
  dk_kv labels[] = {{T_LABEL_KEY, "1"}, {JD_LABEL_HOST, host}, {JD_LABEL_MATCH, "decoy"}};
  const char *cmd[] = {"sleep", "60", NULL};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 3};
  char *id = NULL;
  t_ok(dk_container_create(&id, c, name, &cfg));
  free(name);
  return id;
}

static bool exists(dk_client *c, const char *id) {
  dk_container_info *info = NULL;
  int rc = dk_container_inspect(&info, c, id);
  dk_container_info_free(info);
  return rc == 0;
}

/* Waits until a sweep removed the decoy: a sweep ran after everything live
 * at the call existed. */
static void wait_a_sweep(dk_client *c, const char *host, const char *log) {
  char *id = decoy(c, host);
  for (int64_t until = jd_mono_ms() + 20000; exists(c, id);) {
    cr_assert(jd_mono_ms() < until, "no sweep removed the dead leftover (log %s)", log);
    usleep(100000);
  }
  free(id);
}

Test(shared_owners, a_sweeping_daemon_two_clis_and_a_second_daemon_all_finish) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdso"), *state = t_tmpdir("sostate");
  /* The sweeping daemon, then the others on the same host id and state. */
  t_proc *a = t_daemon_spawn(srv_a->url, host, state, SWEEPS " --slots 2");
  t_proc *b = t_daemon_spawn(srv_b->url, host, state, SWEEPS);
  jd_queue *qa = t_queue_client(srv_a->url), *qb = t_queue_client(srv_b->url);
  /* The sweeping daemon's own build task (its judger.owner label). */
  char *dsrc = write_slow_program(6), *dbid = t_unique("soab");
  submit_build(qa, "so-ab", dbid, dsrc);
  t_submit_game_match(qa, "so-a", 12);
  t_submit_game_match(qb, "so-b", 12);
  char *spec = write_match_spec(state, "so-cli", 12), *src = write_slow_program(8), *args = NULL;
  cr_assert(asprintf(&args, "run %s --out %s/out --json", spec, state) > 0);
  t_proc *run = spawn_cli(host, state, "run", args);
  free(args);
  char *bid = t_unique("sob");
  cr_assert(asprintf(&args, "build --domain ai --id %s --source %s --json", bid, src) > 0);
  t_proc *build = spawn_cli(host, state, "build", args);
  free(args);
  /* Everything is live at once, and sweeps pass over it. */
  wait_containers_with(c, host, JD_LABEL_MATCH "=so-cli", 60000, "judger run", run->log);
  wait_containers_with(c, host, JD_LABEL_ROLE "=build", 60000, "judger build", build->log);
  wait_a_sweep(c, host, a->log);
  int rc_build = t_proc_wait(build, 120000);
  char *bout = slurp(state, "build.out"), *berr = slurp(state, "build.err");
  cr_assert_eq(rc_build, 0, "judger build: exit %d: %s %s", rc_build, bout, berr);
  cr_assert(strstr(bout, "\"status\":\"ok\""), "%s", bout);
  int rc_run = t_proc_wait(run, 120000);
  char *rout = slurp(state, "run.out"), *rerr = slurp(state, "run.err");
  cr_assert_eq(rc_run, 0, "judger run: exit %d: %s %s", rc_run, rout, rerr);
  cr_assert(strstr(rout, "\"status\":\"finished\""), "%s", rout);
  char *glog = slurp(state, "out/game_logic.log");
  cr_assert(strstr(glog, "12 turns"), "the game logic's log is whole: %s", glog);
  char *res_a = t_wait_result(qa, "so-a", 120000, a->log);
  char *res_b = t_wait_result(qb, "so-b", 120000, b->log);
  char *res_ab = t_wait_result(qa, "so-ab", 120000, a->log);
  char *st_a = t_task_field(qa, "so-a", "status"), *st_b = t_task_field(qb, "so-b", "status");
  char *st_ab = t_task_field(qa, "so-ab", "status");
  cr_assert_str_eq(st_ab, "finished", "%s (log %s)", res_ab, a->log);
  free(res_ab);
  free(st_ab);
  t_rmdir(dsrc);
  free(dbid);
  cr_assert_str_eq(st_a, "finished", "%s (log %s)", res_a, a->log);
  cr_assert_str_eq(st_b, "finished", "%s (log %s)", res_b, b->log);
  /* Each removed its own: nothing is left once the teardowns are done. */
  for (int64_t until = jd_mono_ms() + 30000;
       t_host_containers(c, host) || t_host_networks(c, host) || t_workdirs(state);) {
    cr_assert(jd_mono_ms() < until, "leftovers: %zu containers, %zu networks, %zu work dirs",
              t_host_containers(c, host), t_host_networks(c, host), t_workdirs(state));
    usleep(100000);
  }
  cr_assert_eq(entries(state, "runs"), 0, "every run file went with its run");
  cr_assert_eq(t_proc_wait(a, 0), -1, "daemon a runs on");
  cr_assert_eq(t_proc_wait(b, 0), -1, "daemon b runs on");
  free(bout);
  free(berr);
  free(rout);
  free(rerr);
  free(glog);
  free(res_a);
  free(res_b);
  free(st_a);
  free(st_b);
  t_proc_free(run);
  t_proc_free(build);
  t_proc_free(a);
  t_proc_free(b);
  jd_queue_free(qa);
  jd_queue_free(qb);
  t_cleanup_host(c, host);
  free(spec);
  free(bid);
  t_rmdir(src);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}

Test(shared_owners, kill_9_of_each_kind_leaves_nothing_after_the_next_sweep) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdsk"), *state = t_tmpdir("skstate");
  /* The victims first: a second daemon with a match, a `judger run`, a
   * `judger build`; each has made something before the sweeper starts. */
  t_proc *b = t_daemon_spawn(srv_b->url, host, state, SWEEPS " --slots 2");
  jd_queue *qb = t_queue_client(srv_b->url);
  t_submit_game_match(qb, "sk-b", 90);
  char *dsrc = write_slow_program(90), *dbid = t_unique("skbb");
  submit_build(qb, "sk-bb", dbid, dsrc);
  char *spec = write_match_spec(state, "sk-cli", 90), *src = write_slow_program(90), *args = NULL;
  cr_assert(asprintf(&args, "run %s --out %s/out --json", spec, state) > 0);
  t_proc *run = spawn_cli(host, state, "run", args);
  free(args);
  char *bid = t_unique("skb");
  cr_assert(asprintf(&args, "build --domain ai --id %s --source %s --json", bid, src) > 0);
  t_proc *build = spawn_cli(host, state, "build", args);
  free(args);
  wait_containers_with(c, host, JD_LABEL_MATCH "=sk-b", 60000, "daemon b", b->log);
  wait_containers_with(c, host, JD_LABEL_MATCH "=sk-cli", 60000, "judger run", run->log);
  wait_containers_with(c, host, JD_LABEL_ROLE "=build", 60000, "judger build", build->log);
  /* The daemon's build too: two build containers. */
  for (int64_t until = jd_mono_ms() + 60000;
       containers_with(c, host, JD_LABEL_ROLE "=build") < 2;) {
    cr_assert(jd_mono_ms() < until, "daemon b's build never started (log %s)", b->log);
    usleep(100000);
  }
  size_t live = t_host_containers(c, host), dirs = t_workdirs(state);
  cr_assert_geq(dirs, 2, "the two matches' work dirs");
  cr_assert_eq(entries(state, "runs"), 4, "four live runs");
  /* The sweeper starts now: its start sweep, then periodic ones, keep all
   * of it and take only the dead leftovers. */
  t_proc *a = t_daemon_spawn(srv_a->url, host, state, SWEEPS);
  wait_a_sweep(c, host, a->log);
  wait_a_sweep(c, host, a->log);
  cr_assert_geq(t_host_containers(c, host), live, "a live run lost a container (log %s)", a->log);
  cr_assert_eq(t_workdirs(state), dirs, "a live match lost its work dir");
  cr_assert_eq(t_proc_wait(run, 0), -1, "judger run is still running: %s", slurp(state, "run.err"));
  cr_assert_eq(t_proc_wait(build, 0), -1, "judger build is still running: %s",
               slurp(state, "build.err"));
  /* kill -9 of each kind: the next sweeps take what they left. */
  int64_t t0 = jd_mono_ms();
  kill(run->pid, SIGKILL);
  kill(build->pid, SIGKILL);
  kill(b->pid, SIGKILL);
  cr_assert_eq(t_proc_wait(run, 5000), 128 + SIGKILL);
  cr_assert_eq(t_proc_wait(build, 5000), 128 + SIGKILL);
  cr_assert_eq(t_proc_wait(b, 5000), 128 + SIGKILL);
  for (int64_t until = jd_mono_ms() + 30000; t_host_containers(c, host) ||
                                             t_host_networks(c, host) || t_workdirs(state) ||
                                             entries(state, "runs");) {
    cr_assert(jd_mono_ms() < until,
              "leftovers of the killed runs: %zu containers, %zu networks, %zu work dirs, %zu "
              "run files (log %s)",
              t_host_containers(c, host), t_host_networks(c, host), t_workdirs(state),
              entries(state, "runs"), a->log);
    usleep(100000);
  }
  fprintf(stderr, "shared_owners: the killed runs' leftovers went in %lld ms\n",
          (long long)(jd_mono_ms() - t0));
  cr_assert_eq(t_proc_wait(a, 0), -1, "the sweeping daemon runs on");
  t_proc_free(run);
  t_proc_free(build);
  t_proc_free(a);
  t_proc_free(b);
  jd_queue_free(qb);
  t_cleanup_host(c, host);
  free(spec);
  free(bid);
  free(dbid);
  t_rmdir(src);
  t_rmdir(dsrc);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}

/* A container of match `match`, run `run`, on host (created, not started). */
static char *match_container(dk_client *c, const char *host, const char *match, const char *run) {
  char *name = t_unique("jd-sowner");
  dk_kv labels[] = {
      {T_LABEL_KEY, "1"}, {JD_LABEL_HOST, host}, {JD_LABEL_MATCH, match}, {JD_LABEL_RUN, run}};
  const char *cmd[] = {"sleep", "60", NULL};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 4};
  char *id = NULL;
  t_ok(dk_container_create(&id, c, name, &cfg));
  free(name);
  return id;
}

Test(shared_owners, a_run_file_keeps_its_match_exactly_and_a_sweep_without_owners_too) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdsf"), *state = t_tmpdir("sfstate");
  /* A live run of match "a" (this process: a sweep with no owner function
   * still sees it), and a dead match "a-b" whose id extends "a". */
  jd_run_owner run = JD_RUN_OWNER_NONE;
  const char *owned[] = {JD_LABEL_MATCH "=a", NULL};
  cr_assert_eq(jd_run_owner_take(&run, state, owned), 0);
  char *mine = match_container(c, host, "a", "a-0a0a0a");
  char *dead = match_container(c, host, "a-b", "a-b-0b0b0b");
  char path[600];
  snprintf(path, sizeof path, "%s/matches/a-1c1c1c", state);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0); /* before its containers exist */
  snprintf(path, sizeof path, "%s/matches/a-b-0b0b0b", state);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0);
  jd_reconcile_report rep = {0};
  t_ok(jd_reconcile_host(&rep, c, host, state, NULL, NULL));
  cr_assert_eq(rep.containers, 1);
  cr_assert(exists(c, mine) && !exists(c, dead));
  cr_assert_eq(rep.workdirs, 1);
  cr_assert(!jd_path_exists(path), "the dead a-b's work dir goes");
  snprintf(path, sizeof path, "%s/matches/a-1c1c1c", state);
  cr_assert(jd_path_exists(path), "the live run's work dir stays");
  /* Released: the next sweep takes the rest. */
  jd_run_owner_release(&run);
  jd_reconcile_report after = {0};
  t_ok(jd_reconcile_host(&after, c, host, state, NULL, NULL));
  cr_assert_eq(after.containers, 1);
  cr_assert_eq(after.workdirs, 1);
  cr_assert(!exists(c, mine));
  free(mine);
  free(dead);
  t_cleanup_host(c, host);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}
