/* judger run — one match from a spec file (docs/match-spec.md).
 *
 *   judger run SPEC.json --out DIR [--json] [--quiet] [--watch] [--wait-teardown]
 *                        [--state-dir DIR] [--host-id ID] [--net-pool CIDR]
 *
 * Exit codes: 0 the match finished (whatever the players did), 1 it failed
 * because of a program (the game logic crashed or overran before ending the
 * match, or its build failed), 2 usage or invalid spec, 3 system fault or
 * interrupted. SIGINT/SIGTERM/SIGHUP cancel the match: everything it created
 * is removed before the command exits.
 *
 * Theory of operation (the default; --wait-teardown runs all of it in one
 * process, the teardown before the exit):
 *   1. The parent reads the spec and the settings (usage errors: exit 2),
 *      blocks SIGINT/SIGTERM/SIGHUP, makes a pipe and forks, before any
 *      thread exists.
 *   2. The child runs the match as a lone `judger run` would: it holds the
 *      run file (common/run_owner.h), watches the signals in a thread of its
 *      own, prints progress and the result on the inherited stdout/stderr,
 *      and stays in the terminal's process group, so a Ctrl-C reaches it.
 *   3. The parent forwards every SIGINT/SIGTERM/SIGHUP it gets to the child
 *      and waits on the pipe for one byte: the exit code.
 *   4. With the result out, the child stops watching signals, points its
 *      stdin/stdout at /dev/null (a reader of the pipe, `judger run
 *      --json | jq`, gets EOF once the parent exits) and stderr at
 *      <state_dir>/logs/teardown.log (capped), leaves the terminal's
 *      session (setsid: a later Ctrl-C is not its business), writes the
 *      exit code and removes the match's containers, networks and work
 *      directory (jd_match_teardown), holding the run file until the end.
 *      An interrupted match (a signal before the result) is torn down
 *      first and the code written after, so Ctrl-C still leaves nothing.
 *   5. The parent exits with the code it read; a pipe that closes without
 *      one means the child died (kill -9): exit 3, and what the match left
 *      is removed by the next reconciliation (docs/daemon.md).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/dockerfile.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/watch_print.h"
#include "common/context.h"
#include "common/fs.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/run_owner.h"
#include "common/utf8.h"
#include "common/util.h"
#include "match/match.h"
#include "match/match_policy.h"
#include "match/net_pool.h"
#include "match/net_stock.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: judger run SPEC.json --out DIR [options]\n"
          "\n"
          "Runs one match: builds what is missing, runs the game logic and its players in\n"
          "containers on a private network, and writes result.json, player_<i>.log,\n"
          "game_logic.log and the game's outputs into DIR.\n"
          "\n"
          "options:\n"
          "  -o, --out DIR        where the results go (required)\n"
          "  --json               print result.json on stdout instead of a table\n"
          "  -q, --quiet          no progress on stderr\n"
          "  --watch              also the game logic's frames with the progress (`judger\n"
          "                       watch --file DIR/live.jsonl` follows them from elsewhere)\n"
          "  --wait-teardown      exit only once the match's containers, networks and work\n"
          "                       directory are removed (default: exit with the result, the\n"
          "                       removal goes on in a process of its own)\n"
          "  --state-dir DIR      work directories and caches ($JUDGER_STATE_DIR, setting\n"
          "                       state_dir; default " JD_STATE_DIR_DEFAULT ")\n"
          "  --host-id ID         this host's label on what the judger makes\n"
          "                       ($JUDGER_HOST_ID, setting host_id; default: the host name)\n"
          "  --net-pool CIDR      addresses the match networks are carved from\n"
          "                       ($JUDGER_NET_POOL, default " JD_NET_POOL_DEFAULT "; \"\" = the\n"
          "                       engine's own pools)\n"
          "  --build-jobs N       programs built at once ($JUDGER_BUILD_JOBS, default: the\n"
          "                       number of CPUs, at most 4)\n"
          "  --base-images LIST   images programs' FROM and COPY --from may name besides\n"
          "                       " JD_BASE_IMAGE " ($JUDGER_BASE_IMAGES, setting\n"
          "                       base_images; default " JD_BASE_IMAGES_DEFAULT ")\n"
          "\n");
  jd_cli_usage_settings(f, JD_CMD_RUN);
  fprintf(f, "\nexit codes: 0 finished, 1 failed (a program's fault), 2 usage or invalid spec,\n"
             "3 system fault or interrupted\n");
}

typedef struct run_opts {
  const char *spec_path, *out_dir;
  jd_cli cli; /* --config, --host-id, --state-dir, --net-pool... */
  bool json, quiet, wait_teardown, watch;
  size_t net_stock; /* the net_stock setting: networks kept ready (0 = off) */
} run_opts;

/* ---- signals: a thread waits for them and fires the match's cancel ------- */

typedef struct sig_watch {
  sigset_t set;
  dk_cancel *cancel;
  volatile sig_atomic_t got;
} sig_watch;

static void *sig_main(void *arg) {
  sig_watch *w = arg;
  int sig = 0;
  if (sigwait(&w->set, &sig) == 0) {
    /* From here the thread finishes on its own: a pthread_cancel landing
     * inside jd_log or dk_cancel_fire would leave their mutexes locked (and
     * the cancel token would then be freed locked). */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    w->got = sig;
    jd_log(JD_LOG_WARN, "run.signal", "%s: cancelling the match and cleaning up", strsignal(sig));
    dk_cancel_fire(w->cancel);
  }
  return NULL;
}

/* ---- progress ---------------------------------------------------------- */

typedef struct progress {
  bool json, watch;
  bool printed; /* the result is out (before the match's teardown) */
} progress;

/* The edge of the match's events: a JSON line each with --json, else one
 * line a person reads (cli/watch_print.h, as `judger watch` prints them).
 * Frames only with --watch. */
static void on_event(void *ud, const jd_match_event *ev) {
  progress *p = ud;
  char *line = NULL;
  if ((ev->type == JD_EVENT_MATCH_FRAME && !p->watch) || jd_match_event_json(&line, ev))
    return;
  if (p->json)
    jd_term_printf(stderr, "%s\n", line);
  else
    (void)jd_watch_print(stderr, NULL, line, strlen(line), false);
  free(line);
}

/* Fills o from argv. Returns -1 to go on, else the exit code to return
 * now (--help, or a usage error already reported). */
static int parse_args(run_opts *o, int argc, char **argv) {
  static const struct option own[] = {{"out", required_argument, NULL, 'o'},
                                      {"json", no_argument, NULL, 'j'},
                                      {"quiet", no_argument, NULL, 'q'},
                                      {"wait-teardown", no_argument, NULL, 'w'},
                                      {"help", no_argument, NULL, 'h'},
                                      {"watch", no_argument, NULL, 'W'},
                                      {NULL, 0, NULL, 0}};
  const struct option *longs = jd_cli_options(&o->cli, own);
  if (!longs) {
    fprintf(stderr, "judger run: out of memory\n");
    return JD_EXIT_SYSTEM;
  }
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "o:qh", longs, NULL)) != -1) {
    if (jd_cli_take_setting(&o->cli, c, optarg))
      continue;
    switch (c) {
    case 'o':
      o->out_dir = optarg;
      break;
    case 'j':
      o->json = true;
      break;
    case 'q':
      o->quiet = true;
      break;
    case 'w':
      o->wait_teardown = true;
      break;
    case 'W':
      o->watch = true;
      break;
    case 'h':
      usage(stdout);
      return JD_EXIT_OK;
    default:
      return jd_cli_bad_option("run", argv[optind - 1], usage);
    }
  }
  if (optind != argc - 1 || !o->out_dir) {
    fprintf(stderr, "judger run: %s\n",
            optind != argc - 1 ? "give one spec file" : "--out DIR is required");
    usage(stderr);
    return JD_EXIT_USAGE;
  }
  o->spec_path = argv[optind];
  return -1;
}

/* The settings (flags over the environment over the file, as the daemon
 * takes them) into *settings and the context, and what the spec asks of
 * this host, before anything is built or made. 0, or -1 after saying why
 * on stderr (a usage error). */
static int load_settings(jd_config *settings, jd_ctx *ctx, const run_opts *o,
                         const jd_match_spec *spec) {
  char err[512];
  if (jd_cli_load(settings, &o->cli, err, sizeof err)) {
    fprintf(stderr, "judger run: settings: %s\n", err);
    return -1;
  }
  jd_net_pool pool;
  if (jd_net_pool_parse(&pool, settings->net_pool, err, sizeof err)) {
    fprintf(stderr, "judger run: --net-pool: %s\n", err);
    return -1;
  }
  jd_settings_ctx(ctx, settings, true);
  char why[768];
  if (jd_match_spec_check_policy(spec, &ctx->policy, ctx->state_dir, jd_base_images(ctx), why,
                                 sizeof why)) {
    jd_term_printf(stderr, "judger run: %s: %s\n", o->spec_path, why);
    return -1;
  }
  if (jd_match_inputs_local(spec, why, sizeof why)) {
    jd_term_printf(stderr, "judger run: %s: %s\n", o->spec_path, why);
    return -1;
  }
  return 0;
}

/* Reads and parses the spec file; relative dirs are resolved from its
 * folder. Returns 0, or -1 after saying why on stderr (a usage error). */
static int load_spec(jd_match_spec **out, const char *path) {
  char *text = NULL, *dir_copy = NULL;
  char err[512];
  size_t len = 0;
  int rc = -1;
  if (jd_read_file(&text, &len, path, 4u << 20)) {
    fprintf(stderr, "judger run: cannot read %s: %s\n", path, strerror(errno));
    goto cleanup;
  }
  dir_copy = strdup(path);
  if (!dir_copy || jd_match_spec_parse(out, text, dirname(dir_copy), err, sizeof err)) {
    jd_term_printf(stderr, "judger run: invalid spec %s: %s\n", path,
                   dir_copy ? err : "out of memory");
    goto cleanup;
  }
  rc = 0;
cleanup:
  free(text);
  free(dir_copy);
  return rc;
}

/* Signals go to one thread (blocked everywhere else: the match's threads
 * inherit the mask), which cancels the match; the normal path cleans up.
 * Returns whether the thread started. */
static bool sig_watch_start(sig_watch *sw, pthread_t *thread, dk_cancel *cancel) {
  sigemptyset(&sw->set);
  sigaddset(&sw->set, SIGINT);
  sigaddset(&sw->set, SIGTERM);
  sigaddset(&sw->set, SIGHUP);
  sw->cancel = cancel;
  pthread_sigmask(SIG_BLOCK, &sw->set, NULL);
  return pthread_create(thread, NULL, sig_main, sw) == 0;
}

static void print_result(const jd_match_result *res, bool json) {
  char *t = json ? jd_match_result_json(res) : jd_match_result_summary(res);
  if (t && json)
    printf("%s\n", t);
  else if (t)
    jd_term_printf(stdout, "%s", t); /* names, messages: the programs' text */
  free(t);
}

/* The result as soon as the match has one: the containers and networks
 * are removed after, before the process exits. */
static void on_result(void *ud, const jd_match_result *res) {
  progress *p = ud;
  print_result(res, p->json);
  fflush(stdout);
  p->printed = true;
}

/* Stops the signal thread (if it runs); afterwards the signals stay
 * blocked: one arriving later is pending and ignored. */
static void sig_watch_stop(bool *started, pthread_t thread) {
  if (!*started)
    return;
  pthread_cancel(thread);
  pthread_join(thread, NULL);
  *started = false;
}

/* The exit code to the parent: one byte on the hand-off pipe, then the
 * pipe closed. */
static void notify_parent(int *fd, int exit_code) {
  if (*fd < 0)
    return;
  unsigned char c = (unsigned char)exit_code;
  ssize_t n;
  do
    n = write(*fd, &c, 1);
  while (n < 0 && errno == EINTR);
  close(*fd);
  *fd = -1;
}

/* The detached teardown's log: <state_dir>/logs/teardown.log, appended to
 * by every `judger run` of the host (one write per line), emptied when it
 * passes TEARDOWN_LOG_CAP. The state directory is the judger's own; the
 * file is opened without following a link. -1 when it cannot be. */
#define TEARDOWN_LOG_CAP (1 << 20)
static int teardown_log(const char *state_dir) {
  char dir[4096];
  if (snprintf(dir, sizeof dir, "%s/logs", state_dir ? state_dir : JD_STATE_DIR_DEFAULT) >=
          (int)sizeof dir ||
      jd_mkdir_p(dir, 0700))
    return -1;
  int d = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d < 0)
    return -1;
  /* O_NONBLOCK: a FIFO planted there does not hang the exit; then only a
   * regular file of ours with one name is written (a hard link to another
   * file is not appended to, nor emptied). */
  int fd = openat(d, "teardown.log",
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  close(d);
  struct stat st;
  if (fd >= 0 &&
      (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid())) {
    close(fd);
    return -1;
  }
  if (fd >= 0 && st.st_size > TEARDOWN_LOG_CAP)
    (void)ftruncate(fd, 0);
  return fd;
}

/* The child once its result is out: off the terminal (stdin and stdout on
 * /dev/null, stderr on the teardown's log, a session of its own), then the
 * code to the parent. What it cannot remove is the reconciliation's. */
static void leave_terminal(int *notify_fd, int exit_code, const char *state_dir) {
  prctl(PR_SET_PDEATHSIG, 0);
  fflush(stdout);
  fflush(stderr);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  int log = teardown_log(state_dir);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(log >= 0 ? log : null, STDERR_FILENO);
    if (null > STDERR_FILENO)
      close(null);
  }
  if (log > STDERR_FILENO)
    close(log);
  setsid();
  notify_parent(notify_fd, exit_code);
}

/* What one match holds in the process that runs it. */
typedef struct run_state {
  dk_client *dk;
  dk_cancel *cancel;
  sig_watch sw;
  pthread_t sig_thread;
  bool sig_started;
  jd_run_owner run;
  jd_match_result *res;
  jd_net_stock *stock; /* ctx->net_stock while the match runs */
} run_state;

/* The engine client, the run file and the signal thread. 0, or -1 after
 * saying why on stderr. */
static int run_begin(run_state *st, jd_ctx *ctx, const jd_match_spec *spec, size_t net_stock) {
  if (dk_client_new(&st->dk, NULL) || dk_cancel_new(&st->cancel)) {
    fprintf(stderr, "judger run: cannot set up the engine client\n");
    return -1;
  }
  ctx->dk = st->dk;
  /* The host's stock of ready networks, made here, in the process that
   * runs the match and its teardown (after the fork). Without it every
   * network is made and removed as before. */
  char why[256];
  if (net_stock && jd_net_stock_new(&st->stock, ctx, net_stock, why, sizeof why))
    jd_log(JD_LOG_WARN, "run.net_stock", "no stock of networks: %s", why);
  ctx->net_stock = st->stock;
  /* The run, held before anything is made and until all of it is removed:
   * no judger's sweep on this state dir takes the match's containers,
   * networks, builds or work dir meanwhile (common/run_owner.h). */
  char owns[JD_RUN_LABEL_MAX];
  snprintf(owns, sizeof owns, "%s=%s", JD_LABEL_MATCH, spec->id);
  const char *owned[] = {owns, NULL};
  if (jd_run_owner_take(&st->run, ctx->state_dir, owned)) {
    fprintf(stderr, "judger run: cannot hold a run file in the state directory: %s\n",
            strerror(errno));
    return -1;
  }
  st->sig_started = sig_watch_start(&st->sw, &st->sig_thread, st->cancel);
  return 0;
}

/* Runs the match in this process and returns the exit code. notify_fd < 0
 * (--wait-teardown): the teardown comes before the return. Else this is the
 * forked child: the code goes to notify_fd as soon as the result is out,
 * and the teardown follows off the terminal (see the top of the file). */
static int run_match(const run_opts *o, jd_ctx *ctx, const jd_match_spec *spec, int notify_fd) {
  run_state st = {.run = JD_RUN_OWNER_NONE};
  jd_match_pending *pending = NULL;
  int exit_code = JD_EXIT_SYSTEM;
  if (run_begin(&st, ctx, spec, o->net_stock))
    goto cleanup;
  progress pr = {.json = o->json, .watch = o->watch};
  jd_match_hooks hooks = {
      .event = o->quiet ? NULL : on_event, .ud = &pr, .cancel = st.cancel, .result = on_result};
  char why[256] = "";
  if (jd_match_run_detached(&st.res, &pending, ctx, spec, o->out_dir, &hooks, why, sizeof why)) {
    fprintf(stderr, "judger run: %s\n", why);
    goto cleanup;
  }
  if (!pr.printed)
    print_result(st.res, o->json);
  exit_code = jd_match_exit_code(st.res);
  /* A system fault is also said on stderr, in one line, whatever stdout
   * holds: an engine that lacks a guarantee (common/engine.h) is refused
   * this way, its reason naming the guarantee and engine_accept. */
  if (st.res->status == JD_MATCH_STATUS_ERROR && st.res->reason)
    jd_term_printf(stderr, "judger run: %.*s\n", (int)strcspn(st.res->reason, "\n"),
                   st.res->reason);
  if (notify_fd >= 0) {
    /* Joined first: a signal seen up to here makes it an interrupted run,
     * torn down before the code goes out; one after is ignored. */
    sig_watch_stop(&st.sig_started, st.sig_thread);
    if (!st.sw.got)
      leave_terminal(&notify_fd, exit_code, ctx->state_dir);
  }
  jd_match_teardown(pending);

cleanup:
  sig_watch_stop(&st.sig_started, st.sig_thread);
  if (st.sw.got)
    exit_code = JD_EXIT_SYSTEM;
  /* Every lease went back in the teardown; the idle networks stay. */
  jd_net_stock_free(st.stock);
  ctx->net_stock = NULL;
  jd_run_owner_release(&st.run);
  jd_match_result_free(st.res);
  dk_cancel_free(st.cancel);
  dk_client_free(st.dk);
  ctx->dk = NULL;
  notify_parent(&notify_fd, exit_code);
  return exit_code;
}

/* The parent: forwards the signals of set to the child and waits for its
 * exit code on fd. Returns it, or JD_EXIT_SYSTEM when the pipe closed
 * without one (the child died). */
static int await_child(pid_t child, int fd, const sigset_t *set) {
  int sfd = signalfd(-1, set, SFD_CLOEXEC);
  struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
  int exit_code = -1;
  while (exit_code < 0) {
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    struct signalfd_siginfo si;
    if ((pf[1].revents & POLLIN) && read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
      kill(child, (int)si.ssi_signo);
    if (!pf[0].revents)
      continue;
    unsigned char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n != 1)
      break;
    exit_code = c;
  }
  if (sfd >= 0)
    close(sfd);
  if (exit_code >= 0)
    return exit_code; /* the child goes on tearing down, on its own */
  int status = 0;
  waitpid(child, &status, 0);
  fprintf(stderr,
          "judger run: the match's process ended without a result (%s %d); what it left is "
          "removed by the next reconciliation (docs/daemon.md)\n",
          WIFSIGNALED(status) ? "signal" : "exit code",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  return JD_EXIT_SYSTEM;
}

/* The default: the match in a child forked now, while this process has
 * no thread but its own; the parent returns the child's exit code as soon
 * as the result is out. */
static int run_forked(const run_opts *o, jd_ctx *ctx, const jd_match_spec *spec) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  /* Blocked before the fork: a signal before the child's watcher runs is
   * pending there, not fatal. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  int p[2];
  if (pipe2(p, O_CLOEXEC)) {
    fprintf(stderr, "judger run: pipe: %s\n", strerror(errno));
    return JD_EXIT_SYSTEM;
  }
  fflush(NULL);
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "judger run: fork: %s\n", strerror(errno));
    close(p[0]);
    close(p[1]);
    return JD_EXIT_SYSTEM;
  }
  if (child == 0) {
    close(p[0]);
    /* A parent killed before the result (kill -9 of `judger run`) cancels
     * the match, as a signal would. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      kill(getpid(), SIGTERM);
    return run_match(o, ctx, spec, p[1]);
  }
  close(p[1]);
  int exit_code = await_child(child, p[0], &set);
  close(p[0]);
  return exit_code;
}

int jd_cmd_run(int argc, char **argv) {
  run_opts o = {.cli = JD_CLI_INIT("run", JD_CMD_RUN, usage)};
  int prc = jd_cli_begin(&o.cli, argc, argv) ? JD_EXIT_SYSTEM : parse_args(&o, argc, argv);
  if (prc >= 0) {
    jd_cli_free(&o.cli);
    return prc;
  }
  int exit_code = JD_EXIT_USAGE;
  jd_match_spec *spec = NULL;
  jd_config settings = {0};
  jd_ctx ctx = {0};
  if (!load_spec(&spec, o.spec_path) && !load_settings(&settings, &ctx, &o, spec)) {
    o.net_stock = (size_t)settings.net_stock;
    exit_code = o.wait_teardown ? run_match(&o, &ctx, spec, -1) : run_forked(&o, &ctx, spec);
  }
  jd_match_spec_free(spec);
  jd_config_clear(&settings);
  jd_cli_free(&o.cli);
  return exit_code;
}
