// test-labels: engine
/* The cgroup meter (match/cgroup_meter.h) on a busy-looping container held
 * to one CPU: its CPU grows about as the wall time, its memory peak is
 * there, a frozen container gains no CPU and a thawed one does again, a
 * container that exited fails to read, a bad id is refused before any path
 * is made of it. Each backend the engine allows is tested: the api always,
 * the cgroup files when the engine's cgroups are the host's (cgroup v1 here;
 * on the DinD sidecar its containers' cgroups are not under the host's
 * root, and AUTO must take the api there: what AUTO picks is asserted from
 * whether the v1 directory exists). cgroup v2 is not on this machine: its
 * parsing and freezing are tested on a fake tree made in a temp directory
 * (cgroup_root pointed at it), beside the real v1 tests. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "match/cgroup_meter.h"
#include "support.h"

#define MAX_BOXES 4

static dk_client *cli;
static char *boxes[MAX_BOXES];
static int nboxes;
static char *tmp;

static void setup(void) {
  cli = t_client();
  t_busybox_image(cli);
}

static void teardown(void) {
  for (int i = 0; i < nboxes; i++) {
    dk_container_remove(cli, boxes[i], true, true);
    free(boxes[i]);
  }
  nboxes = 0;
  t_rmdir(tmp);
  tmp = NULL;
  dk_client_free(cli);
}

TestSuite(cgroup_meter, .init = setup, .fini = teardown, .timeout = 120);

/* A started container held to one CPU running sh -c script; its id. */
static const char *start(const char *script) {
  cr_assert(nboxes < MAX_BOXES);
  const char *cmd[] = {"sh", "-c", script, NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 1};
  /* Half a CPU: enough to measure, and the suite's other tests share the
   * machine's two cores (a loaded engine delays its OOM events). */
  cfg.host.nano_cpus = 500000000;
  cfg.host.network_mode = "none";
  char *name = t_unique("jdt-meter");
  char *id = NULL;
  t_ok(dk_container_create(&id, cli, name, &cfg));
  free(name);
  boxes[nboxes++] = id;
  t_ok(dk_container_start(cli, id));
  return id;
}

static const char *busy(void) { return start("while :; do :; done"); }

/* Whether the engine's cgroups are the host's: the v1 cgroupfs directory. */
static bool v1_there(const char *id) {
  char p[256];
  snprintf(p, sizeof p, "/sys/fs/cgroup/cpuacct/docker/%s", id);
  return access(p, F_OK) == 0;
}

static jd_meter *meter(const char *id, const char *root, jd_meter_mode mode) {
  jd_meter *m = NULL;
  char err[512] = "";
  cr_assert_eq(jd_meter_open(&m, cli, id, root, mode, err, sizeof err), 0, "%s", err);
  return m;
}

static int64_t cpu(jd_meter *m) {
  int64_t ns = -1;
  char err[512] = "";
  cr_assert_eq(jd_meter_cpu(&ns, m, err, sizeof err), 0, "%s", err);
  cr_assert(ns >= 0);
  return ns;
}

static void sleep_ms(long ms) {
  nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* CPU over wall while running, nothing while frozen, again once thawed. */
static void check_running(jd_meter *m, bool host_v1) {
  const char *b = jd_meter_backend_name(jd_meter_backend_of(m));
  int64_t c0 = cpu(m), t0 = jd_mono_ns();
  sleep_ms(400);
  int64_t c1 = cpu(m), t1 = jd_mono_ns();
  /* Held to one CPU: at most the wall time (a CFS period of slack); at
   * least a tenth of it: two cores shared with two such tests running at
   * once and whatever else the machine runs (a quarter failed once). */
  int64_t used = c1 - c0, wall = t1 - t0;
  cr_assert(used >= wall / 10 && used <= wall + 100000000, "%s: %lld ns of CPU in %lld ns", b,
            (long long)used, (long long)wall);
  jd_usage u;
  char err[512] = "";
  cr_assert_eq(jd_meter_read(&u, m, err, sizeof err), 0, "%s", err);
  cr_assert(u.cpu_ns >= c1, "%s", b);
  /* an engine on cgroup v2 gives no max_usage: -1 through its api */
  bool none_ok = !host_v1 && jd_meter_backend_of(m) == JD_METER_API;
  cr_assert(u.memory_peak > 0 || (none_ok && u.memory_peak == -1), "%s: memory_peak %lld", b,
            (long long)u.memory_peak);
  cr_assert(u.throttled_ns >= 0 && u.throttled_periods >= 0, "%s", b);

  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), 0, "%s: %s", b, err);
  int64_t f0 = cpu(m);
  sleep_ms(200); /* the measured interval is the point here */
  int64_t f1 = cpu(m);
  cr_assert(f1 - f0 <= 1000000, "%s: %lld ns of CPU while frozen", b, (long long)(f1 - f0));
  cr_assert_eq(jd_meter_freeze(m, false, err, sizeof err), 0, "%s: %s", b, err);
  int64_t deadline = jd_mono_ms() + 5000;
  while (cpu(m) < f1 + 20000000 && jd_mono_ms() < deadline)
    sleep_ms(10);
  cr_assert(cpu(m) >= f1 + 20000000, "%s: no CPU after the thaw", b);
}

Test(cgroup_meter, auto_picks_the_host_cgroup_when_there) {
  const char *id = busy();
  jd_meter *m = meter(id, NULL, JD_METER_AUTO);
  jd_meter_backend want = v1_there(id) ? JD_METER_CGROUP_V1 : JD_METER_API;
  cr_assert_eq(jd_meter_backend_of(m), want, "AUTO gave %s",
               jd_meter_backend_name(jd_meter_backend_of(m)));
  check_running(m, v1_there(id));
  jd_meter_close(m);
}

Test(cgroup_meter, api_backend) {
  const char *id = busy();
  jd_meter *m = meter(id, NULL, JD_METER_ONLY_API);
  cr_assert_eq(jd_meter_backend_of(m), JD_METER_API);
  check_running(m, v1_there(id));
  jd_meter_close(m);
}

Test(cgroup_meter, cgroup_backend_or_a_clear_refusal) {
  const char *id = busy();
  if (v1_there(id)) {
    jd_meter *m = meter(id, "/sys/fs/cgroup", JD_METER_ONLY_CGROUP);
    cr_assert_eq(jd_meter_backend_of(m), JD_METER_CGROUP_V1);
    check_running(m, true);
    jd_meter_close(m);
    return;
  }
  jd_meter *m = NULL;
  char err[512] = "";
  cr_assert_eq(jd_meter_open(&m, cli, id, NULL, JD_METER_ONLY_CGROUP, err, sizeof err), -1);
  cr_assert_null(m);
  cr_assert(strstr(err, "no cgroup of container"), "%s", err);
}

/* Every read and a freeze of a meter whose container exited fail, saying so. */
/* A freeze asked for without waiting is done once the poll says so, and
 * then no CPU is spent; a thaw undoes it. */
static void check_freeze_without_waiting(jd_meter *m) {
  const char *b = jd_meter_backend_name(jd_meter_backend_of(m));
  char err[512] = "";
  bool done = false;
  cr_assert_eq(jd_meter_freeze_start(m, &done, err, sizeof err), 0, "%s: %s", b, err);
  int64_t deadline = jd_mono_ms() + 3000;
  while (!done && jd_mono_ms() < deadline) {
    cr_assert_eq(jd_meter_freeze_poll(m, &done, err, sizeof err), 0, "%s: %s", b, err);
    if (!done)
      sleep_ms(1);
  }
  cr_assert(done, "%s: never frozen", b);
  int64_t f0 = cpu(m);
  sleep_ms(200); /* the measured interval is the point here */
  cr_assert(cpu(m) - f0 <= 1000000, "%s: CPU spent while frozen", b);
  cr_assert_eq(jd_meter_freeze(m, false, err, sizeof err), 0, "%s: %s", b, err);
  deadline = jd_mono_ms() + 5000;
  while (cpu(m) < f0 + 20000000 && jd_mono_ms() < deadline)
    sleep_ms(10);
  cr_assert(cpu(m) >= f0 + 20000000, "%s: no CPU after the thaw", b);
}

Test(cgroup_meter, a_freeze_that_does_not_wait) {
  const char *id = busy();
  jd_meter *m = meter(id, NULL, JD_METER_AUTO);
  check_freeze_without_waiting(m);
  jd_meter_close(m);
  m = meter(id, NULL, JD_METER_ONLY_API);
  check_freeze_without_waiting(m);
  jd_meter_close(m);
}

Test(cgroup_meter, a_sweep_thaws_what_a_dead_judger_froze) {
  const char *id = busy();
  if (!v1_there(id)) {
    /* Off the engine's host (a sidecar) there is no freezer to undo: the
     * call must simply do nothing. */
    jd_meter_thaw_host(id, NULL);
    return;
  }
  jd_meter *m = meter(id, NULL, JD_METER_ONLY_CGROUP);
  char err[512] = "";
  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), 0, "%s", err);
  int64_t f0 = cpu(m);
  jd_meter_thaw_host(id, NULL);
  int64_t deadline = jd_mono_ms() + 5000;
  while (cpu(m) < f0 + 20000000 && jd_mono_ms() < deadline)
    sleep_ms(10);
  cr_assert(cpu(m) >= f0 + 20000000, "still frozen after jd_meter_thaw_host");
  jd_meter_close(m);
  jd_meter_thaw_host("not-an-id", NULL); /* refused before any path: no crash */
}

static void check_gone(jd_meter *m) {
  const char *b = jd_meter_backend_name(jd_meter_backend_of(m));
  const char *want = jd_meter_backend_of(m) == JD_METER_API ? "not running" : "gone";
  char err[512] = "";
  int64_t ns = 0;
  int64_t deadline = jd_mono_ms() + 10000;
  while (jd_meter_cpu(&ns, m, err, sizeof err) == 0 && jd_mono_ms() < deadline)
    sleep_ms(10); /* the cgroup goes once the runtime has reaped the task */
  cr_assert(strstr(err, want), "%s: %s", b, err);
  jd_usage u;
  err[0] = '\0';
  cr_assert_eq(jd_meter_read(&u, m, err, sizeof err), -1, "%s", b);
  cr_assert(strstr(err, want), "%s: %s", b, err);
  err[0] = '\0';
  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), -1, "%s", b);
  cr_assert(err[0], "%s", b);
}

Test(cgroup_meter, exited_container_fails_to_read) {
  const char *id = start("while :; do :; done");
  jd_meter *a = meter(id, NULL, JD_METER_AUTO);
  jd_meter *api = meter(id, NULL, JD_METER_ONLY_API);
  cpu(a);
  cpu(api);
  t_ok(dk_container_kill(cli, id, "KILL"));
  int64_t code = 0;
  t_ok(dk_container_wait(&code, cli, id, NULL, NULL));
  check_gone(a);
  check_gone(api);
  jd_meter_close(a);
  jd_meter_close(api);
  /* opened after the exit: no cgroup files, and the api has no sample */
  jd_meter *m = NULL;
  char err[512] = "";
  cr_assert_eq(jd_meter_open(&m, cli, id, NULL, JD_METER_ONLY_CGROUP, err, sizeof err), -1);
  cr_assert(strstr(err, "no cgroup of container"), "%s", err);
  m = meter(id, NULL, JD_METER_AUTO);
  cr_assert_eq(jd_meter_backend_of(m), JD_METER_API);
  check_gone(m);
  jd_meter_close(m);
}

/* ---- fake trees (no cgroup v2 host here; the v2 layouts are made) ------ */

static const char fake_id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void put(const char *dir, const char *name, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f, "%s", p);
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
}

static void slurp(char *buf, size_t cap, const char *dir, const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "r");
  cr_assert_not_null(f, "%s", p);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* tmp/<sub>/<leaf>, made; its path (static). */
static const char *fake_dir(const char *sub, const char *leaf) {
  static char p[512];
  if (!tmp)
    tmp = t_tmpdir("meter");
  snprintf(p, sizeof p, "%s/%s", tmp, sub);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/%s/%s", tmp, sub, leaf);
  cr_assert_eq(mkdir(p, 0755), 0, "%s", p);
  return p;
}

static void fake_v2(const char *d, bool frozen, bool peak) {
  put(d, "cpu.stat",
      "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n"
      "core_sched.force_idle_usec 0\nnr_periods 40\nnr_throttled 3\n"
      "throttled_usec 4500\nnr_bursts 0\nburst_usec 0\n");
  put(d, "cgroup.freeze", "0\n");
  put(d, "cgroup.events", frozen ? "populated 1\nfrozen 1\n" : "populated 1\nfrozen 0\n");
  if (peak)
    put(d, "memory.peak", "7340032\n");
}

Test(cgroup_meter, fake_v2_cgroupfs) {
  const char *d = fake_dir("docker", fake_id);
  fake_v2(d, true, true);
  jd_meter *m = meter(fake_id, tmp, JD_METER_AUTO);
  cr_assert_eq(jd_meter_backend_of(m), JD_METER_CGROUP_V2);
  cr_assert_eq(cpu(m), 1234567000LL);
  jd_usage u;
  char err[512] = "", buf[64];
  cr_assert_eq(jd_meter_read(&u, m, err, sizeof err), 0, "%s", err);
  cr_assert_eq(u.cpu_ns, 1234567000LL);
  cr_assert_eq(u.memory_peak, 7340032);
  cr_assert_eq(u.throttled_ns, 4500000);
  cr_assert_eq(u.throttled_periods, 3);
  /* "frozen 1" in cgroup.events: the freeze is done */
  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), 0, "%s", err);
  slurp(buf, sizeof buf, d, "cgroup.freeze");
  cr_assert_eq(buf[0], '1');
  cr_assert_eq(jd_meter_freeze(m, false, err, sizeof err), 0, "%s", err);
  slurp(buf, sizeof buf, d, "cgroup.freeze");
  cr_assert_eq(buf[0], '0');
  /* the files are read again at each call, never parsed loosely */
  put(d, "cpu.stat", "usage_usec 12x\n");
  cr_assert_eq(jd_meter_cpu(&u.cpu_ns, m, err, sizeof err), -1);
  cr_assert(strstr(err, "cpu.stat is malformed"), "%s", err);
  put(d, "cpu.stat", "usage_usec 99999999999999999999\n");
  cr_assert_eq(jd_meter_cpu(&u.cpu_ns, m, err, sizeof err), -1);
  put(d, "cpu.stat", "user_usec 5\n");
  cr_assert_eq(jd_meter_cpu(&u.cpu_ns, m, err, sizeof err), -1);
  cr_assert(strstr(err, "usage_usec"), "%s", err);
  jd_meter_close(m);
}

Test(cgroup_meter, fake_v2_systemd_without_peak_and_a_freeze_that_never_ends) {
  char scope[128];
  snprintf(scope, sizeof scope, "docker-%s.scope", fake_id);
  const char *d = fake_dir("system.slice", scope);
  fake_v2(d, false, false);
  jd_meter *m = meter(fake_id, tmp, JD_METER_ONLY_CGROUP);
  cr_assert_eq(jd_meter_backend_of(m), JD_METER_CGROUP_V2);
  jd_usage u;
  char err[512] = "", buf[64];
  cr_assert_eq(jd_meter_read(&u, m, err, sizeof err), 0, "%s", err);
  cr_assert_eq(u.memory_peak, -1, "no memory.peak before 5.19");
  /* "frozen 0" stays: given up after about a second, thawed back */
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), -1);
  int64_t ms = jd_mono_ms() - t0;
  cr_assert(strstr(err, "did not freeze"), "%s", err);
  cr_assert(ms >= 900 && ms < 3000, "%lld ms", (long long)ms);
  slurp(buf, sizeof buf, d, "cgroup.freeze");
  cr_assert_eq(buf[0], '0');
  jd_meter_close(m);
}

Test(cgroup_meter, fake_v1_combined_controllers_and_no_links_followed) {
  /* cpu,cpuacct with the two usual links to it: found by its real name */
  if (!tmp)
    tmp = t_tmpdir("meter");
  char p[512];
  const char *d = fake_dir("cpu,cpuacct", "docker");
  snprintf(p, sizeof p, "%s/%s", d, fake_id);
  cr_assert_eq(mkdir(p, 0755), 0);
  put(p, "cpuacct.usage", "987654321\n");
  put(p, "cpu.stat", "nr_periods 9\nnr_throttled 2\nthrottled_time 777\n");
  snprintf(p, sizeof p, "%s/cpu", tmp);
  cr_assert_eq(symlink("cpu,cpuacct", p), 0);
  snprintf(p, sizeof p, "%s/cpuacct", tmp);
  cr_assert_eq(symlink("cpu,cpuacct", p), 0);
  d = fake_dir("freezer", "docker");
  snprintf(p, sizeof p, "%s/%s", d, fake_id);
  cr_assert_eq(mkdir(p, 0755), 0);
  put(p, "freezer.state", "FROZEN\n");
  jd_meter *m = meter(fake_id, tmp, JD_METER_ONLY_CGROUP);
  cr_assert_eq(jd_meter_backend_of(m), JD_METER_CGROUP_V1);
  jd_usage u;
  char err[512] = "";
  cr_assert_eq(jd_meter_read(&u, m, err, sizeof err), 0, "%s", err);
  cr_assert_eq(u.cpu_ns, 987654321);
  cr_assert_eq(u.throttled_ns, 777);
  cr_assert_eq(u.throttled_periods, 2);
  cr_assert_eq(u.memory_peak, -1, "no memory controller");
  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), 0, "%s", err);
  put(p, "freezer.state", "FREEZING\nX");
  cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), -1);
  cr_assert(strstr(err, "freezer.state is malformed"), "%s", err);
  jd_meter_close(m);
  /* the container's directory a link (v2 layout, to a complete cgroup):
   * not followed, no cgroup */
  char *other = NULL;
  cr_assert(asprintf(&other, "%s/elsewhere", tmp) > 0);
  cr_assert_eq(mkdir(other, 0755), 0);
  fake_v2(other, true, true);
  snprintf(p, sizeof p, "%s/docker", tmp);
  cr_assert_eq(mkdir(p, 0755), 0);
  char id2[65];
  memcpy(id2, fake_id, 65);
  id2[0] = 'f'; /* not in the v1 tree: the v2 link is the only candidate */
  snprintf(p, sizeof p, "%s/docker/%s", tmp, id2);
  cr_assert_eq(symlink(other, p), 0);
  m = NULL;
  cr_assert_eq(jd_meter_open(&m, cli, id2, tmp, JD_METER_ONLY_CGROUP, err, sizeof err), -1);
  cr_assert(strstr(err, "no cgroup of container"), "%s", err);
  /* and a link as the root itself is refused */
  snprintf(p, sizeof p, "%s/root-link", tmp);
  cr_assert_eq(symlink(tmp, p), 0);
  cr_assert_eq(jd_meter_open(&m, cli, fake_id, p, JD_METER_ONLY_CGROUP, err, sizeof err), -1);
  cr_assert(strstr(err, "cgroup root"), "%s", err);
  free(other);
}

Test(cgroup_meter, bad_id_refused_before_any_path) {
  /* a tree with a complete cgroup under each bad name: an id that got as
   * far as a path would be found */
  const char *bad[] = {
      "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
      "..",
      "",
  };
  for (size_t i = 0; i < 3; i++)
    fake_v2(fake_dir("docker", bad[i]), true, true);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (jd_meter_mode mode = JD_METER_AUTO; mode <= JD_METER_ONLY_CGROUP; mode++) {
      jd_meter *m = NULL;
      char err[512] = "";
      cr_assert_eq(jd_meter_open(&m, cli, bad[i], tmp, mode, err, sizeof err), -1, "%s", bad[i]);
      cr_assert_null(m);
      cr_assert(strstr(err, "not a full container id"), "%s", err);
    }
  }
  jd_meter *m = NULL;
  char err[512] = "";
  cr_assert_eq(jd_meter_open(&m, cli, NULL, tmp, JD_METER_AUTO, err, sizeof err), -1);
}

/* ---- figures ---------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Median ns of n CPU reads, and of nf freeze + thaw round trips. */
static void figures(jd_meter *m, int n, int nf, int64_t *read_ns, int64_t *freeze_ns) {
  int64_t *t = calloc((size_t)(n > nf ? n : nf), sizeof *t);
  cr_assert_not_null(t);
  char err[512] = "";
  for (int i = 0; i < n; i++) {
    int64_t t0 = jd_mono_ns();
    cpu(m);
    t[i] = jd_mono_ns() - t0;
  }
  qsort(t, (size_t)n, sizeof *t, cmp_i64);
  *read_ns = t[n / 2];
  for (int i = 0; i < nf; i++) {
    int64_t t0 = jd_mono_ns();
    cr_assert_eq(jd_meter_freeze(m, true, err, sizeof err), 0, "%s", err);
    cr_assert_eq(jd_meter_freeze(m, false, err, sizeof err), 0, "%s", err);
    t[i] = jd_mono_ns() - t0;
  }
  qsort(t, (size_t)nf, sizeof *t, cmp_i64);
  *freeze_ns = t[nf / 2];
  free(t);
}

/* Printed for docs/performance.md: the medians of 200 cgroup reads and
 * 20 round trips; the api's of 3 and 3 (a one-shot stats call waits for
 * the engine's next sample, up to 1 s on Docker 20.10), or of
 * $JDT_METER_API_READS reads when set (200 for the figures). */
Test(cgroup_meter, figures, .timeout = 900) {
  /* A container each: the engine may take the cgroup freezer's FROZEN for
   * a pause of its own ("already paused" on the api's next pause). */
  jd_meter *ms[] = {meter(busy(), NULL, JD_METER_AUTO), meter(busy(), NULL, JD_METER_ONLY_API)};
  const char *env = getenv("JDT_METER_API_READS");
  int api_reads = env && atoi(env) > 0 ? atoi(env) : 3;
  for (size_t i = 0; i < 2; i++) {
    bool api = jd_meter_backend_of(ms[i]) == JD_METER_API;
    int64_t rd = 0, fz = 0;
    figures(ms[i], api ? api_reads : 200, api ? 3 : 20, &rd, &fz);
    fprintf(stderr, "meter %s: cpu read median %.1f us, freeze+thaw median %.1f us\n",
            jd_meter_backend_name(jd_meter_backend_of(ms[i])), rd / 1e3, fz / 1e3);
    /* loose: a shared 2-core machine */
    if (!api)
      cr_assert(rd < 1000000 && fz < 50000000, "read %lld ns, freeze %lld ns", (long long)rd,
                (long long)fz);
    jd_meter_close(ms[i]);
  }
}
