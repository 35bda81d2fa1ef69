// test-labels: engine
/* `judger run` as a user runs it: exit codes, --json, the summary table,
 * SIGINT/SIGTERM in the middle of a match removing everything, and the
 * exit at the result (the teardown in a cleaner of its own; with
 * --wait-teardown before the exit). */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/image_cache.h"
#include "common/run_owner.h"
#include "common/tmpfile.h"
#include "daemon/reconcile.h"
#include "daemon_proc.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(cmd_run, .init = setup, .fini = teardown, .timeout = 120);

static char *write_spec(const char *json) {
  char *path = NULL;
  cr_assert(asprintf(&path, "%s/spec.json", env.state) > 0);
  cr_assert_eq(jd_write_file(path, json, strlen(json)), 0);
  return path;
}

/* Starts the judger with argv; its stdout and stderr go to pipes. With
 * own_group, in a process group of its own (as a shell's job: a Ctrl-C
 * goes to the whole group). */
static pid_t spawn_in(char *const *argv, int *out_fd, int *err_fd, bool own_group) {
  int o[2], e[2];
  cr_assert_eq(pipe(o), 0);
  cr_assert_eq(pipe(e), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    if (own_group)
      setpgid(0, 0);
    dup2(o[1], 1);
    dup2(e[1], 2);
    /* Only 1 and 2, as a shell's pipe: a stray copy of the write ends
     * would keep the reader from its EOF. */
    close(o[0]);
    close(e[0]);
    close(o[1]);
    close(e[1]);
    execv(JD_BINARY_DIR "/bin/judger", argv);
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  *out_fd = o[0];
  *err_fd = e[0];
  return pid;
}

static pid_t spawn_argv(char *const *argv, int *out_fd, int *err_fd) {
  return spawn_in(argv, out_fd, err_fd, false);
}

/* Starts `judger run` on spec (extra: one more argument, or NULL). */
static pid_t spawn(const char *spec, const char *extra, int *out_fd, int *err_fd) {
  char *const argv[] = {"judger",  "run",       (char *)spec, "--out",       env.out, "--state-dir",
                        env.state, "--host-id", env.host,     (char *)extra, NULL};
  return spawn_argv(argv, out_fd, err_fd);
}

static char *slurp_fd(int fd) {
  dk_buf b = DK_BUF_INIT(1 << 22);
  char tmp[4096];
  ssize_t n;
  while ((n = read(fd, tmp, sizeof tmp)) > 0)
    dk_buf_append(&b, tmp, (size_t)n);
  close(fd);
  char *s = dk_buf_detach(&b, NULL);
  return s ? s : strdup("");
}

static int wait_exit(pid_t pid) {
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st), "judger did not exit normally");
  return WEXITSTATUS(st);
}

/* Whether a run of this test's state dir is live (its process holds the
 * run file: the cleaner releases it once the teardown is over). */
static bool run_live(void) {
  char **live = NULL;
  cr_assert_eq(jd_run_owner_live(&live, env.state, NULL), 0);
  bool any = live != NULL;
  for (char **l = live; l && *l; l++)
    free(*l);
  free(live);
  return any;
}

/* Containers plus networks carrying this test's host label. */
static size_t engine_left(void) {
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, env.host);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  t_ok(dk_container_list_by_label(&cl, env.dk, true, labels));
  size_t n = cl->count + t_host_networks(env.dk, env.host);
  dk_container_list_free(cl);
  return n;
}

/* A run that exited at its result: waits (60 s at most) until its cleaner
 * is done (nothing of the host's label on the engine, no live run), then
 * checks that nothing is left. */
static void wait_clean(void) {
  int64_t deadline = dk_now_ms() + 60000;
  while (engine_left() || run_live()) {
    cr_assert_lt(dk_now_ms(), deadline, "the cleaner is not done after 60 s");
    usleep(50000);
  }
  tm_assert_clean(&env);
}

/* The pid of a child of parent (the match's process of `judger run`), as
 * soon as /proc shows one; 10 s at most. */
static pid_t child_of(pid_t parent) {
  int64_t deadline = dk_now_ms() + 10000;
  for (;;) {
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    struct dirent *de;
    pid_t found = 0;
    while (!found && (de = readdir(d))) {
      char path[300], buf[512];
      snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
      FILE *f = fopen(path, "r");
      size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
      if (f)
        fclose(f);
      buf[n] = 0;
      char *close_paren = strrchr(buf, ')');
      int ppid = 0;
      if (close_paren && sscanf(close_paren + 1, " %*c %d", &ppid) == 1 && ppid == parent)
        found = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    if (found)
      return found;
    cr_assert_lt(dk_now_ms(), deadline, "judger run %d forked no child", (int)parent);
    usleep(20000);
  }
}

Test(cmd_run, invalid_spec_exits_2_naming_the_field) {
  char *spec = write_spec("{\"id\":\"m\",\"players\":[]}");
  int o, e;
  pid_t pid = spawn(spec, "--quiet", &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 2);
  cr_assert(strstr(err, "game_logic: missing"), "%s", err);
  free(out);
  free(err);
  free(spec);
  tm_assert_clean(&env);
}

Test(cmd_run, finished_match_exits_0_with_json_on_stdout) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *json = tm_spec("cli", a, "{\"seed\":45,\"plan\":\"0\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  json_object *r = json_tokener_parse(out);
  cr_assert_not_null(r, "stdout is not JSON: %s", out);
  json_object *v;
  cr_assert(json_object_object_get_ex(r, "status", &v));
  cr_assert_str_eq(json_object_get_string(v), "finished");
  json_object_put(r);
  /* --json: progress on stderr as JSON lines */
  cr_assert(strstr(err, "\"event\":\"player.started\""), "%s", err);
  free(out);
  free(err);
  free(spec);
  free(json);
  free(a);
  wait_clean();
}

Test(cmd_run, game_logic_crash_exits_1_with_a_table) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *json = tm_spec("cli", a, "{\"mode\":\"crash\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--quiet", &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 1, "stderr: %s", err);
  cr_assert(strstr(out, "match cli: failed"), "%s", out);
  cr_assert(strstr(out, "verdict"), "%s", out);
  free(out);
  free(err);
  free(spec);
  free(json);
  free(a);
  wait_clean();
}

Test(cmd_run, closed_stderr_does_not_kill_it_mid_match) {
  /* `judger run ... 2>&1 | head`: the reader of the progress goes away. The
   * match must still run to its end and clean up, not die of SIGPIPE. */
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *json = tm_spec("cli", a, "{\"seed\":45,\"plan\":\"0\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  close(e);
  char *out = slurp_fd(o);
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st), "judger died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  cr_assert_eq(WEXITSTATUS(st), 0, "%s", out);
  cr_assert(strstr(out, "\"status\":\"finished\""), "%s", out);
  free(out);
  free(spec);
  free(json);
  free(a);
  wait_clean();
}

/* Reads stderr until the game logic started, signals (group: the whole
 * process group, as a Ctrl-C at a terminal does, else the judger's pid),
 * and checks that the judger removes everything BEFORE it exits 3 with the
 * cancelled result. */
static void interrupt_with(int sig, bool group) {
  char *a = tm_program("lingerer", "samples/hostile/lingerer");
  char *json = tm_spec("cli", a, "{\"mode\":\"hang\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  char *const argv[] = {"judger",  "run",       spec,     "--out",  env.out, "--state-dir",
                        env.state, "--host-id", env.host, "--json", NULL};
  pid_t pid = spawn_in(argv, &o, &e, group);
  FILE *f = fdopen(e, "r");
  char line[4096];
  bool started = false;
  while (!started && fgets(line, sizeof line, f))
    started = strstr(line, "\"game_logic.started\"") != NULL;
  cr_assert(started, "the game logic never started");
  int64_t t0 = dk_now_ms();
  kill(group ? -pid : pid, sig);
  while (fgets(line, sizeof line, f))
    ;
  fclose(f);
  char *out = slurp_fd(o);
  cr_assert_eq(wait_exit(pid), 3);
  int64_t took = dk_now_ms() - t0;
  cr_assert_lt(took, 15000, "took %lld ms to stop", (long long)took);
  json_object *r = json_tokener_parse(out);
  cr_assert_not_null(r, "%s", out);
  json_object *v;
  cr_assert(json_object_object_get_ex(r, "status", &v));
  cr_assert_str_eq(json_object_get_string(v), "cancelled");
  json_object_put(r);
  free(out);
  free(spec);
  free(json);
  free(a);
  cr_assert(!run_live(), "an interrupted run exits after its teardown");
  tm_assert_clean(&env);
}

Test(cmd_run, sigint_cancels_and_cleans_up) { interrupt_with(SIGINT, false); }
Test(cmd_run, sigterm_cancels_and_cleans_up) { interrupt_with(SIGTERM, false); }
Test(cmd_run, ctrl_c_to_the_group_cancels_and_cleans_up) { interrupt_with(SIGINT, true); }

Test(cmd_run, sigint_during_a_build_stops_it) {
  /* A game logic whose image build sleeps: unique, so never cached. */
  char *dir = t_tmpdir("slowbuild");
  char path[512], df[256];
  snprintf(path, sizeof path, "%s/run.Dockerfile", dir);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && sleep 60\n", env.host);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"slow\",\"game_logic\":{\"id\":\"slow\",\"dir\":\"%s\"},\"players\":[%s]}",
           dir, a);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  FILE *f = fdopen(e, "r");
  char line[4096];
  bool building = false;
  while (!building && fgets(line, sizeof line, f))
    building = strstr(line, "sleep 60") != NULL;
  cr_assert(building, "the build never reached its slow step");
  int64_t t0 = dk_now_ms();
  kill(pid, SIGINT);
  while (fgets(line, sizeof line, f))
    ;
  fclose(f);
  char *out = slurp_fd(o);
  cr_assert_eq(wait_exit(pid), 3);
  int64_t took = dk_now_ms() - t0;
  cr_assert_lt(took, 20000, "took %lld ms to stop", (long long)took);
  cr_assert(strstr(out, "\"status\":\"cancelled\""), "%s", out);
  /* Its player never had its chance: not a clean OK. */
  json_object *r = json_tokener_parse(out), *players, *p0, *v;
  cr_assert_not_null(r, "%s", out);
  cr_assert(json_object_object_get_ex(r, "players", &players));
  p0 = json_object_array_get_idx(players, 0);
  cr_assert(json_object_object_get_ex(p0, "verdict", &v));
  cr_assert_str_eq(json_object_get_string(v), "UE");
  cr_assert(json_object_object_get_ex(p0, "instances", &v));
  cr_assert_eq(json_object_get_int(v), 0);
  json_object_put(r);
  free(out);
  free(spec);
  free(a);
  t_rmdir(dir);
  tm_assert_clean(&env);
}

Test(cmd_run, net_pool_places_the_networks_and_a_bad_one_exits_2) {
  char *p = NULL;
  cr_assert(asprintf(&p, "{\"id\":\"hosts\",\"image\":\"" T_BUSYBOX_IMAGE
                         "\",\"cmd\":[\"cat\",\"/etc/hosts\"]}") > 0);
  char *json = tm_spec("pool", p, "{\"seed\":1,\"plan\":\"0\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--net-pool=10.243.0.0/16", &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  /* The player's own address (its /etc/hosts line) is in the pool. */
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "10.243."), "%s", log);
  free(log);
  free(out);
  free(err);
  pid = spawn(spec, "--net-pool=10.243.0.0/33", &o, &e);
  out = slurp_fd(o);
  err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 2);
  cr_assert(strstr(err, "--net-pool"), "%s", err);
  free(out);
  free(err);
  free(spec);
  free(json);
  free(p);
  wait_clean();
}

/* No raw ESC, BEL, CR or C1 control in what a person's terminal gets. */
static void assert_terminal_safe(const char *what, const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    bool c1 = p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0;
    cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t', "%s: raw control 0x%02x at %zu", what, *p,
              (size_t)(p - (const unsigned char *)text));
    cr_assert(*p != 0x7f && !c1, "%s: raw DEL or C1 control at %zu", what,
              (size_t)(p - (const unsigned char *)text));
  }
}

Test(cmd_run, program_text_never_drives_the_terminal, .timeout = 240) {
  /* A player whose image build sets the terminal's title and clears the
   * screen, and a game logic whose progress, refused command, end message
   * and log carry escapes: `judger build` and `judger run` print them
   * escaped, on stdout and stderr. */
  char *id = t_unique("esc");
  char *dir = t_tmpdir("escbuild");
  char path[512], df[512];
  snprintf(path, sizeof path, "%s/run.Dockerfile", dir);
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE
           "\nRUN printf '\\033]0;title\\007\\033[2J\\n%s 10%%%%\\r%s 100%%%%\\n'\n",
           id, id);
  cr_assert_eq(jd_write_file(path, df, strlen(df)), 0);

  char *const build[] = {"judger",   "build", "--domain",    "ai",      "--id", id,
                         "--source", dir,     "--state-dir", env.state, NULL};
  int o, e;
  pid_t pid = spawn_argv(build, &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  assert_terminal_safe("judger build stdout", out);
  assert_terminal_safe("judger build stderr", err);
  /* Escaped, not dropped; and the CR-rewritten line folded to its end. */
  cr_assert(strstr(err, "\\x1b]0;title\\x07\\x1b[2J"), "%s", err);
  char folded[128];
  snprintf(folded, sizeof folded, "%s 100%%", id);
  cr_assert(strstr(err, folded) && !strstr(err, "10%\\x0d"), "%s", err);
  free(out);
  free(err);

  char *p = NULL;
  cr_assert(asprintf(&p, "{\"id\":\"%s\",\"dir\":\"%s\"}", id, dir) > 0);
  char *json = tm_spec("esc", p, "{\"mode\":\"escapes\"}", NULL);
  char *spec = write_spec(json);
  int fo, fe;
  char again[600];
  snprintf(again, sizeof again, "--out=%s", env.out); /* a repeated flag: progress stays on */
  pid = spawn(spec, again, &fo, &fe);
  out = slurp_fd(fo);
  err = slurp_fd(fe);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  assert_terminal_safe("judger run stdout", out);
  assert_terminal_safe("judger run stderr", err);
  cr_assert(strstr(out, "\\x1b[2J\\x0d\\u009b1m\\x7f"), "the end message, escaped: %s", out);
  cr_assert(strstr(err, "command refused"), "%s", err);
  free(out);
  free(err);
  free(spec);
  free(json);
  free(p);
  wait_clean(); /* before the purge: never an image a container uses */
  jd_ctx ctx = {.dk = env.dk, .state_dir = env.state, .host_id = env.host};
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
  t_rmdir(dir);
  free(id);
}

/* ---- the exit at the result ------------------------------------------- */

Test(cmd_run, wait_teardown_leaves_nothing_at_exit) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *json = tm_spec("cli", a, "{\"seed\":45,\"plan\":\"0 0\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--wait-teardown", &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  cr_assert(strstr(out, "match cli: finished"), "%s", out);
  /* At once: no wait for a cleaner. */
  cr_assert(!run_live(), "the run is still held after the exit");
  tm_assert_clean(&env);
  free(out);
  free(err);
  free(spec);
  free(json);
  free(a);
}

Test(cmd_run, a_json_reader_gets_eof_at_the_result_and_the_cleaner_leaves_nothing) {
  /* `judger run --json | jq`: stdout ends with the result, while the
   * match's teardown (four players' containers and networks) goes on. */
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *json = tm_spec("cli", a, "{\"seed\":45,\"plan\":\"0 0 0 0\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  char *out = slurp_fd(o);
  /* EOF on stdout: the judger closed it, and its cleaner has too. */
  bool live_at_eof = run_live();
  char *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  json_object *r = json_tokener_parse(out), *v;
  cr_assert_not_null(r, "stdout is not JSON: %s", out);
  cr_assert(json_object_object_get_ex(r, "status", &v));
  cr_assert_str_eq(json_object_get_string(v), "finished");
  json_object_put(r);
  cr_assert(live_at_eof, "stdout ended only after the teardown");
  wait_clean();
  free(out);
  free(err);
  free(spec);
  free(json);
  free(a);
}

/* <state>/logs/teardown.log, its directory made. */
static void cleaner_log_path(char *out, size_t n) {
  char logs[600];
  snprintf(logs, sizeof logs, "%s/logs", env.state);
  cr_assert_eq(mkdir(logs, 0700), 0);
  snprintf(out, n, "%s/teardown.log", logs);
}

/* An honest 4-player run that exits 0, then its cleaner done and nothing
 * left. */
static void run_honest_to_clean(int seed) {
  char *a = tm_program("honest", "tests/judger/programs/honest"), cfg[64];
  snprintf(cfg, sizeof cfg, "{\"seed\":%d,\"plan\":\"0 0 0 0\"}", seed);
  char *json = tm_spec("cli", a, cfg, NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  char *out = slurp_fd(o), *err = slurp_fd(e);
  cr_assert_eq(wait_exit(pid), 0, "stderr: %s", err);
  wait_clean();
  free(out);
  free(err);
  free(spec);
  free(json);
  free(a);
}

Test(cmd_run, the_cleaner_logs_into_the_state_dir_and_follows_no_link_there) {
  /* <state>/logs/teardown.log planted as a link to a file elsewhere: the
   * cleaner's log does not land in it, and the teardown still happens. */
  char link[700], *victim_dir = t_tmpdir("victim"), victim[600];
  cleaner_log_path(link, sizeof link);
  snprintf(victim, sizeof victim, "%s/host-file", victim_dir);
  FILE *vf = fopen(victim, "w");
  cr_assert_not_null(vf);
  fclose(vf);
  cr_assert_eq(symlink(victim, link), 0);
  run_honest_to_clean(46);
  struct stat st;
  cr_assert_eq(stat(victim, &st), 0);
  cr_assert_eq(st.st_size, 0, "the cleaner wrote through the link");
  cr_assert_eq(lstat(link, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "the planted link was replaced, not refused");
  t_rmdir(victim_dir);
}

Test(cmd_run, a_fifo_planted_as_the_cleaners_log_does_not_hang_the_run) {
  /* Opening a FIFO for writing blocks until a reader comes: the cleaner
   * opens its log without blocking and writes only to a regular file. */
  char fifo[700];
  cleaner_log_path(fifo, sizeof fifo);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  run_honest_to_clean(47);
}

Test(cmd_run, a_killed_match_process_exits_3_and_reconciliation_removes_what_it_left) {
  char *a = tm_program("lingerer", "samples/hostile/lingerer");
  char *json = tm_spec("cli", a, "{\"mode\":\"hang\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  FILE *f = fdopen(e, "r");
  char line[4096];
  bool started = false;
  while (!started && fgets(line, sizeof line, f))
    started = strstr(line, "\"game_logic.started\"") != NULL;
  cr_assert(started, "the game logic never started");
  kill(child_of(pid), SIGKILL);
  bool said = false;
  while (fgets(line, sizeof line, f))
    said = said || strstr(line, "ended without a result");
  fclose(f);
  char *out = slurp_fd(o);
  cr_assert_eq(wait_exit(pid), 3);
  cr_assert(said, "the judger did not say its match's process died");
  /* What a kill -9 leaves: the containers and networks of a run no process
   * holds any more; the daemon's reconciliation removes them. */
  cr_assert_gt(engine_left(), 0);
  cr_assert(!run_live());
  jd_reconcile_report rep = {0};
  cr_assert_eq(jd_reconcile_host(&rep, env.dk, env.host, env.state, NULL, NULL), 0, "%s",
               rep.error);
  cr_assert_gt(rep.containers, 0);
  cr_assert_gt(rep.workdirs, 0);
  tm_assert_clean(&env);
  free(out);
  free(spec);
  free(json);
  free(a);
}

Test(cmd_run, a_killed_judger_run_takes_its_match_with_it) {
  /* kill -9 of the command (a CI job's timeout): its match's process is
   * cancelled and removes everything itself. */
  char *a = tm_program("lingerer", "samples/hostile/lingerer");
  char *json = tm_spec("cli", a, "{\"mode\":\"hang\"}", NULL);
  char *spec = write_spec(json);
  int o, e;
  pid_t pid = spawn(spec, "--json", &o, &e);
  FILE *f = fdopen(e, "r");
  char line[4096];
  bool started = false;
  while (!started && fgets(line, sizeof line, f))
    started = strstr(line, "\"game_logic.started\"") != NULL;
  cr_assert(started, "the game logic never started");
  kill(pid, SIGKILL);
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  while (fgets(line, sizeof line, f))
    ;
  fclose(f);
  char *out = slurp_fd(o);
  cr_assert(strstr(out, "\"status\":\"cancelled\""), "%s", out);
  wait_clean();
  free(out);
  free(spec);
  free(json);
  free(a);
}
