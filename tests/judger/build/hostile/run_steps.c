// test-labels: engine
/* Hostile RUN steps in environment image builds (issue 19): a fork bomb
 * stops at the build's process limit (a parent cgroup with pids.max,
 * build/run_cgroup.h), and an image past the size cap is CE and removed,
 * its tag with it, without losing the previous good ":latest". */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build/image_cache.h"
#include "build/run_cgroup.h"
#include "common/clock.h"
#include "support.h"

typedef struct fixture {
  dk_client *c;
  jd_ctx ctx;
  char *id;
  char *state;
  dk_kv labels[2];
  char lines[64 * 1024]; /* the build's progress lines */
  size_t nlines;
} fixture;

static void fx_init(fixture *f, const char *prefix) {
  memset(f, 0, sizeof *f);
  f->c = t_client();
  t_busybox_image(f->c);
  f->id = t_unique(prefix);
  f->state = t_tmpdir("runsteps");
  f->ctx = (jd_ctx){.dk = f->c, .state_dir = f->state, .host_id = "test"};
  f->labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f->labels[1] = (dk_kv){"judger.test.id", f->id};
}

static void fx_fini(fixture *f) {
  jd_image_purge(NULL, NULL, &f->ctx, NULL, f->id, true, NULL, 0);
  t_rmdir(f->state);
  free(f->id);
  dk_client_free(f->c);
}

static void on_line(void *ud, const char *line) {
  fixture *f = ud;
  size_t n = strlen(line), room = sizeof f->lines - f->nlines;
  if (n + 2 > room)
    return;
  memcpy(f->lines + f->nlines, line, n);
  f->nlines += n;
  f->lines[f->nlines++] = '\n';
  f->lines[f->nlines] = '\0';
}

static jd_env_image *ensure(fixture *f, const char *df, const jd_build_limits *lim) {
  jd_env_image *img = NULL;
  f->nlines = 0;
  f->lines[0] = '\0';
  t_ok(jd_env_image_ensure(&img, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .limits = lim ? *lim : (jd_build_limits){0},
                                               .labels = f->labels,
                                               .nlabels = 2,
                                               .progress = on_line,
                                               .ud = f},
                           JD_OP_RUN, df, strlen(df), NULL, 0));
  cr_assert_not_null(img);
  return img;
}

/* The id name has now, or NULL when the engine has no such image. */
static char *image_id_of(dk_client *c, const char *name) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, c, name);
  if (rc == DK_ENOTFOUND)
    return NULL;
  t_ok(rc);
  char *id = strdup(info->id);
  dk_image_info_free(info);
  return id;
}

/* The engine's pids hierarchy as its own process sees it (the peer of its
 * unix socket): where the build's parent cgroups are made. */
static int engine_pids_dir(dk_client *c) {
  dk_host_url u;
  cr_assert_eq(dk_host_url_parse(&u, dk_client_host(c), false), 0);
  cr_assert_str_eq(u.scheme, "unix", "these tests need the engine's unix socket");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert_lt(strlen(u.path), sizeof sa.sun_path);
  memcpy(sa.sun_path, u.path, strlen(u.path) + 1);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct ucred cred = {0};
  socklen_t len = sizeof cred;
  cr_assert(s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
            getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0);
  close(s);
  char path[128];
  snprintf(path, sizeof path, "/proc/%d/root/sys/fs/cgroup/pids", (int)cred.pid);
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) { /* cgroup v2: the unified root */
    snprintf(path, sizeof path, "/proc/%d/root/sys/fs/cgroup", (int)cred.pid);
    fd = open(path, O_RDONLY | O_DIRECTORY);
  }
  cr_assert(fd >= 0, "cannot open %s", path);
  return fd;
}

/* How many of this process's parent cgroups are left on the engine. */
static int own_cgroups_left(dk_client *c) {
  int fd = engine_pids_dir(c);
  DIR *d = fdopendir(fd);
  cr_assert_not_null(d);
  char prefix[64];
  snprintf(prefix, sizeof prefix, JD_RUN_CGROUP_PREFIX "%d-", (int)getpid());
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += !strncmp(e->d_name, prefix, strlen(prefix));
  closedir(d);
  return n;
}

Test(run_steps, a_fork_bomb_stops_at_the_builds_process_limit, .timeout = 300) {
  fixture f;
  fx_init(&f, "rsfork");
  /* 2000 background sleeps from root: busybox sh stops at the first fork
   * the limit refuses ("can't fork"). */
  char df[512];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s; i=0; while [ $i -lt 2000 ]; do sleep 100 & i=$((i+1)); done; "
           "echo all-$((1000+1000))-started\n",
           f.id);
  jd_build_limits lim = {.image_network = "none"}; /* pids: the default, 256 */
  int64_t t0 = jd_mono_ms();
  jd_env_image *img = ensure(&f, df, &lim);
  int64_t took = jd_mono_ms() - t0;
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE", "%s\n%s", img->message ? img->message : "",
                   f.lines);
  cr_assert(img->log && strstr(img->log, "can't fork"), "log: %s", img->log);
  cr_assert(!strstr(img->log, "all-2000-started"), "the loop went through: %s", img->log);
  /* The parent held the step: its peak is the limit, never more. */
  long long peak = -2, limit = -2;
  const char *at = strstr(f.lines, "[judger] RUN steps: at most ");
  cr_assert(at, "no process count in the progress:\n%s", f.lines);
  cr_assert_eq(
      sscanf(at, "[judger] RUN steps: at most %lld processes at once (limit %lld)", &peak, &limit),
      2);
  cr_assert_eq(limit, JD_BUILD_DEFAULT_PIDS);
  cr_assert(peak == -1 || (peak > 1 && peak <= limit), "peak %lld, limit %lld", peak, limit);
  /* Nothing stays behind: the parent cgroup is gone, and the engine builds
   * the next image at once. */
  cr_assert_eq(own_cgroups_left(f.c), 0, "a parent cgroup was left on the engine");
  char ok[256];
  snprintf(ok, sizeof ok, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s-after\n", f.id);
  jd_env_image *after = ensure(&f, ok, &lim);
  cr_assert_str_eq(jd_verdict_name(after->verdict), "OK", "%s", after->message);
  cr_log_info("fork bomb: CE in %lld ms, peak %lld of %lld", (long long)took, peak, limit);
  jd_env_image_free(after);
  jd_env_image_free(img);
  fx_fini(&f);
}

Test(run_steps, a_lower_process_limit_is_the_one_applied, .timeout = 300) {
  fixture f;
  fx_init(&f, "rspids");
  /* 40 sleeps fit under 64, 100 do not. */
  char df[512];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s; i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; "
           "echo forty-$((20+20))-started\n"
           "RUN i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo "
           "hundred-$((50+50))-started\n",
           f.id);
  jd_build_limits lim = {.image_network = "none", .pids = 64};
  jd_env_image *img = ensure(&f, df, &lim);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE", "%s", img->message ? img->message : "");
  cr_assert(strstr(img->log, "forty-40-started"), "log: %s", img->log);
  cr_assert(strstr(img->log, "can't fork") && !strstr(img->log, "hundred-100-started"), "log: %s",
            img->log);
  cr_assert(strstr(f.lines, "(limit 64)"), "%s", f.lines);
  jd_env_image_free(img);
  fx_fini(&f);
}

Test(run_steps, an_oversized_image_is_ce_and_gone_and_latest_stays, .timeout = 300) {
  fixture f;
  fx_init(&f, "rsbig");
  jd_build_limits lim = {.image_network = "none", .image_bytes = 100 << 20};
  char small[256], big[512], latest[256];
  snprintf(latest, sizeof latest, "ai-%s-run:latest", f.id);
  snprintf(small, sizeof small, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s > /mark\n", f.id);
  jd_env_image *good = ensure(&f, small, &lim);
  cr_assert_str_eq(jd_verdict_name(good->verdict), "OK", "%s", good->message);
  char *was = image_id_of(f.c, latest);
  cr_assert(was && !strcmp(was, good->image_id), ":latest is not the good image");

  /* 300 MiB in one step, the cap at 100 MiB. */
  snprintf(big, sizeof big,
           "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && head -c 314572800 /dev/zero > /big\n", f.id);
  jd_env_image *img = ensure(&f, big, &lim);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE", "%s", img->message ? img->message : "");
  cr_assert_null(img->image_id);
  cr_assert(img->message && strstr(img->message, "more than the cap of 104857600 bytes"), "%s",
            img->message);
  long long size = 0;
  const char *is = strstr(img->message, "the image is ");
  cr_assert(is && sscanf(is, "the image is %lld bytes", &size) == 1, "%s", img->message);
  cr_assert_geq(size, 314572800LL, "%s", img->message);
  /* Its tag and the image are gone; :latest is still the good one. */
  char *gone = image_id_of(f.c, img->tag);
  cr_assert_null(gone, "the oversized image kept its tag %s", img->tag);
  char *now = image_id_of(f.c, latest);
  cr_assert(now && !strcmp(now, was), ":latest moved: %s, was %s", now, was);
  dk_image_list *l = NULL;
  char flt[160];
  snprintf(flt, sizeof flt, "judger.test.id=%s", f.id);
  const char *filters[] = {flt, NULL};
  t_ok(dk_image_list_filtered(&l, f.c, filters, NULL));
  for (size_t i = 0; i < l->count; i++)
    cr_assert_lt(l->items[i].size, 100 << 20, "an image of %lld bytes is left",
                 (long long)l->items[i].size);
  dk_image_list_free(l);
  free(was);
  free(now);
  jd_env_image_free(img);
  jd_env_image_free(good);
  fx_fini(&f);
}

Test(run_steps, a_cached_image_past_a_lower_cap_is_ce, .timeout = 300) {
  fixture f;
  fx_init(&f, "rscache");
  char df[256];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && head -c 157286400 /dev/zero > /big\n", f.id);
  jd_build_limits lim = {.image_network = "none"};
  jd_env_image *img = ensure(&f, df, &lim);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s", img->message);
  lim.image_bytes = 100 << 20;
  jd_env_image *hit = ensure(&f, df, &lim);
  cr_assert(hit->cached);
  cr_assert_str_eq(jd_verdict_name(hit->verdict), "CE", "%s", hit->message);
  cr_assert(strstr(hit->message, "more than the cap of 104857600 bytes"), "%s", hit->message);
  cr_assert_null(hit->image_id);
  jd_env_image_free(hit);
  jd_env_image_free(img);
  fx_fini(&f);
}

Test(run_steps, a_parent_left_by_a_dead_judger_is_swept, .timeout = 300) {
  fixture f;
  fx_init(&f, "rssweep");
  /* What a judger killed during a build leaves: an empty parent, two days
   * old, in the pids hierarchy (and the engine's copies elsewhere). */
  int pids = engine_pids_dir(f.c);
  char stale[96];
  snprintf(stale, sizeof stale, JD_RUN_CGROUP_PREFIX "%d-999999-deadbeef", (int)getpid());
  cr_assert_eq(mkdirat(pids, stale, 0755), 0, "mkdir %s", stale);
  struct timespec old[2] = {{time(NULL) - 2 * 86400, 0}, {time(NULL) - 2 * 86400, 0}};
  cr_assert_eq(utimensat(pids, stale, old, AT_SYMLINK_NOFOLLOW), 0);
  /* A young one (a build that has not reached its first RUN) stays. */
  char young[96];
  snprintf(young, sizeof young, JD_RUN_CGROUP_PREFIX "%d-999998-cafe", (int)getpid());
  cr_assert_eq(mkdirat(pids, young, 0755), 0, "mkdir %s", young);
  cr_assert_eq(own_cgroups_left(f.c), 2);
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s\n", f.id);
  jd_build_limits lim = {.image_network = "none"};
  jd_env_image *img = ensure(&f, df, &lim);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s", img->message);
  struct stat st;
  cr_assert_neq(fstatat(pids, stale, &st, AT_SYMLINK_NOFOLLOW), 0, "the stale parent stayed");
  cr_assert_eq(fstatat(pids, young, &st, AT_SYMLINK_NOFOLLOW), 0, "a young parent was swept");
  cr_assert_eq(unlinkat(pids, young, AT_REMOVEDIR), 0);
  close(pids);
  jd_env_image_free(img);
  fx_fini(&f);
}

Test(run_steps, an_engine_over_tcp_gets_no_parent_and_the_reason) {
  dk_client_opts o = {.host = "tcp://127.0.0.1:9"};
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, &o));
  jd_run_cgroup *cg = NULL;
  char err[512] = "";
  cr_assert_eq(jd_run_cgroup_create(&cg, c, 256, err, sizeof err), -1);
  cr_assert_null(cg);
  cr_assert(strstr(err, "not reached by a unix socket"), "%s", err);
  jd_run_cgroup_free(NULL, 0);
  dk_client_free(c);
}
