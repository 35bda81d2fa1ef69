// test-labels: engine
/* Cores of their own (match/cpu_pool.h): the assignment on fake pools of 8
 * and 64 cores, the pool's strict parse, real leases on a state dir (two
 * never hold one core, a lease freed or killed gives its cores back), and a
 * match with limits.cpuset "auto" whose player and game logic run on two
 * distinct cores. Lease files are just files: pools larger than this host
 * are fine until a container runs. */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/config.h"
#include "match/cpu_pool.h"
#include "match_support.h"

/* ---- the assignment ------------------------------------------------------- */

/* With nheld >= 1 + nais every AI and the game logic have a core of their
 * own, all distinct. */
static void assert_all_own(size_t nheld, size_t nais) {
  bool used[64] = {0};
  for (int ai = -1; ai < (int)nais; ai++) {
    bool shared = true;
    size_t i = jd_cpu_assign(nheld, nais, ai, &shared);
    cr_assert_lt(i, nheld, "nheld %zu nais %zu ai %d", nheld, nais, ai);
    cr_assert_not(shared, "nheld %zu nais %zu ai %d shared", nheld, nais, ai);
    cr_assert_not(used[i], "core %zu given twice (nheld %zu nais %zu)", i, nheld, nais);
    used[i] = true;
  }
}

Test(cpu_assign, every_ai_and_the_game_logic_own_a_core_when_enough) {
  for (size_t nais = 0; nais < 8; nais++)
    assert_all_own(nais + 1, nais);
  for (size_t nais = 0; nais < 64; nais++)
    assert_all_own(nais + 1, nais);
  bool shared;
  cr_assert_eq(jd_cpu_assign(3, 2, 0, &shared), 0);
  cr_assert_eq(jd_cpu_assign(3, 2, 1, &shared), 1);
  cr_assert_eq(jd_cpu_assign(3, 2, -1, &shared), 2);
}

Test(cpu_assign, ais_never_share_while_they_fit_the_game_logic_takes_the_last) {
  /* 8 cores, 8 AIs: one each; the game logic on core 7 with AI 7. */
  bool shared;
  for (int ai = 0; ai < 7; ai++) {
    cr_assert_eq(jd_cpu_assign(8, 8, ai, &shared), (size_t)ai);
    cr_assert_not(shared, "ai %d", ai);
  }
  cr_assert_eq(jd_cpu_assign(8, 8, 7, &shared), 7);
  cr_assert(shared);
  cr_assert_eq(jd_cpu_assign(8, 8, -1, &shared), 7);
  cr_assert(shared);
}

Test(cpu_assign, short_leases_go_round_robin_and_say_shared) {
  /* 64 AIs on 8 cores: AI i on core i % 8, everyone shared. */
  size_t count[8] = {0};
  for (int ai = 0; ai < 64; ai++) {
    bool shared = false;
    size_t i = jd_cpu_assign(8, 64, ai, &shared);
    cr_assert_eq(i, (size_t)ai % 8);
    cr_assert(shared, "ai %d", ai);
    count[i]++;
  }
  for (size_t i = 0; i < 8; i++)
    cr_assert_eq(count[i], 8);
  /* 10 AIs on 8 cores: AIs 0, 1 share with 8, 9; 2..6 alone; 7 with the
   * game logic. */
  bool shared;
  cr_assert_eq(jd_cpu_assign(8, 10, 0, &shared), 0);
  cr_assert(shared);
  cr_assert_eq(jd_cpu_assign(8, 10, 9, &shared), 1);
  cr_assert(shared);
  for (int ai = 2; ai < 7; ai++) {
    cr_assert_eq(jd_cpu_assign(8, 10, ai, &shared), (size_t)ai);
    cr_assert_not(shared, "ai %d", ai);
  }
  cr_assert_eq(jd_cpu_assign(8, 10, -1, &shared), 7);
  cr_assert(shared);
  /* One core: everyone on it. */
  cr_assert_eq(jd_cpu_assign(1, 1, 0, &shared), 0);
  cr_assert(shared);
  cr_assert_eq(jd_cpu_assign(1, 1, -1, &shared), 0);
  cr_assert(shared);
}

Test(cpu_assign, nothing_leased_or_an_unknown_ai_is_the_whole_pool) {
  bool shared = false;
  cr_assert_eq(jd_cpu_assign(0, 2, 0, &shared), JD_CPU_WHOLE_POOL);
  cr_assert(shared);
  cr_assert_eq(jd_cpu_assign(0, 2, -1, &shared), JD_CPU_WHOLE_POOL);
  cr_assert_eq(jd_cpu_assign(3, 2, 2, &shared), JD_CPU_WHOLE_POOL);
  cr_assert_eq(jd_cpu_assign(3, 2, -2, &shared), JD_CPU_WHOLE_POOL);
}

/* ---- the pool's text ------------------------------------------------------ */

static void assert_parses(const char *s, const char *canon, size_t n) {
  jd_cpu_list l;
  char err[256] = "";
  cr_assert_eq(jd_cpu_list_parse(&l, s, err, sizeof err), 0, "'%s': %s", s, err);
  cr_assert_eq(l.n, n, "'%s': %zu CPUs", s, l.n);
  char buf[JD_CPUSET_MAX];
  cr_assert_eq(jd_cpu_list_format(buf, sizeof buf, l.cpu, l.n), 0);
  cr_assert_str_eq(buf, canon);
}

Test(cpu_pool, lists_parse_to_their_canonical_form) {
  assert_parses("0-7", "0-7", 8);
  assert_parses("0,2,4-6", "0,2,4-6", 5);
  assert_parses("3,1,2", "1-3", 3);
  assert_parses("0-3,2-5", "0-5", 6);
  assert_parses("5", "5", 1);
  assert_parses("0-1023", "0-1023", 1024);
  assert_parses("1023", "1023", 1);
  assert_parses("0,0,0", "0", 1);
}

Test(cpu_pool, bad_lists_are_refused_with_the_setting_named) {
  const char *bad[] = {"",
                       "-1",
                       "1-",
                       "-",
                       "a",
                       "0,",
                       ",0",
                       "0,,1",
                       "1024",
                       "0-1024",
                       "3-1",
                       " 0",
                       "0 ",
                       "0x1",
                       "01",
                       "+1",
                       "0-1-2",
                       "1;2",
                       "99999999999999999999",
                       "0--1",
                       "0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,44,46,48,50"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jd_cpu_list l;
    char err[256] = "";
    cr_assert_eq(jd_cpu_list_parse(&l, bad[i], err, sizeof err), -1, "'%s' accepted", bad[i]);
    cr_assert(!strncmp(err, "cpu_pool: ", 10), "'%s': %s", bad[i], err);
    cr_assert_eq(l.n, 0);
  }
  char *huge = malloc(5000);
  memset(huge, '1', 4999);
  huge[4999] = '\0';
  jd_cpu_list l;
  cr_assert_eq(jd_cpu_list_parse(&l, huge, NULL, 0), -1);
  free(huge);
  cr_assert_eq(jd_cpu_list_parse(&l, NULL, NULL, 0), -1);
}

Test(cpu_pool, format_says_when_it_does_not_fit) {
  unsigned short cpu[] = {0, 1, 2, 5, 7, 8};
  char buf[JD_CPUSET_MAX];
  cr_assert_eq(jd_cpu_list_format(buf, sizeof buf, cpu, 6), 0);
  cr_assert_str_eq(buf, "0-2,5,7-8");
  char small[5];
  cr_assert_eq(jd_cpu_list_format(small, sizeof small, cpu, 6), -1);
  cr_assert_str_eq(small, "");
  cr_assert_eq(jd_cpu_list_format(buf, sizeof buf, cpu, 0), 0);
  cr_assert_str_eq(buf, "");
}

/* ---- real leases on a state dir ------------------------------------------- */

static char *state;
static void lease_setup(void) { state = t_tmpdir("cpupool"); }
static void lease_teardown(void) { t_rmdir(state); }
TestSuite(cpu_lease, .init = lease_setup, .fini = lease_teardown, .timeout = 60);

static jd_cpu_lease *take(const char *pool, size_t nais) {
  jd_ctx ctx = {.state_dir = state, .cpu_pool = pool};
  jd_cpu_lease *l = NULL;
  char err[256] = "";
  cr_assert_eq(jd_cpu_lease_take(&l, &ctx, nais, err, sizeof err), 0, "%s", err);
  cr_assert_not_null(l);
  return l;
}

static const char *core_of(const jd_cpu_lease *l, int ai, bool *shared, char buf[JD_CPUSET_MAX]) {
  return jd_cpu_lease_for(l, ai, shared, buf, JD_CPUSET_MAX);
}

Test(cpu_lease, two_leases_never_hold_one_core) {
  jd_cpu_lease *a = take("0-1", 1), *b = take("0-1", 1);
  char buf[JD_CPUSET_MAX];
  bool shared;
  cr_assert_str_eq(core_of(a, 0, &shared, buf), "0");
  cr_assert_not(shared);
  cr_assert_str_eq(core_of(a, -1, &shared, buf), "1");
  cr_assert_not(shared);
  /* Nothing left for b: the whole pool, shared. */
  cr_assert_str_eq(core_of(b, 0, &shared, buf), "0-1");
  cr_assert(shared);
  cr_assert_str_eq(core_of(b, -1, &shared, buf), "0-1");
  cr_assert(shared);
  jd_cpu_lease_free(b);
  jd_cpu_lease_free(a);
}

Test(cpu_lease, leases_on_a_large_fake_pool_are_disjoint) {
  enum { N = 12 };
  jd_cpu_lease *l[N];
  bool seen[64] = {0};
  for (size_t k = 0; k < N; k++) {
    l[k] = take("0-63", 4); /* 5 cores each: 60 of the 64 */
    for (int ai = -1; ai < 4; ai++) {
      char buf[JD_CPUSET_MAX];
      bool shared;
      int c = atoi(core_of(l[k], ai, &shared, buf));
      cr_assert_not(shared);
      cr_assert_not(seen[c], "core %d leased twice", c);
      seen[c] = true;
    }
  }
  /* 4 left: a 4-AI match gets them, its game logic shares the last. */
  jd_cpu_lease *short_l = take("0-63", 4);
  char buf[JD_CPUSET_MAX];
  bool shared;
  cr_assert_str_eq(core_of(short_l, -1, &shared, buf), "63");
  cr_assert(shared);
  cr_assert_str_eq(core_of(short_l, 3, &shared, buf), "63");
  cr_assert(shared);
  cr_assert_str_eq(core_of(short_l, 0, &shared, buf), "60");
  cr_assert_not(shared);
  jd_cpu_lease_free(short_l);
  for (size_t k = 0; k < N; k++)
    jd_cpu_lease_free(l[k]);
}

Test(cpu_lease, a_lease_freed_gives_its_cores_back) {
  jd_cpu_lease *a = take("4-5", 1);
  jd_cpu_lease_free(a);
  jd_cpu_lease *b = take("4-5", 1);
  char buf[JD_CPUSET_MAX];
  bool shared;
  cr_assert_str_eq(core_of(b, 0, &shared, buf), "4");
  cr_assert_str_eq(core_of(b, -1, &shared, buf), "5");
  cr_assert_not(shared);
  jd_cpu_lease_free(b);
  /* The lock files stay, never links. */
  char path[600];
  snprintf(path, sizeof path, "%s/locks/cpu-4", state);
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISREG(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(cpu_lease, a_holder_killed_by_sigkill_frees_its_cores) {
  int ready[2];
  cr_assert_eq(pipe(ready), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    jd_ctx ctx = {.state_dir = state, .cpu_pool = "0-1"};
    jd_cpu_lease *l = NULL;
    if (jd_cpu_lease_take(&l, &ctx, 1, NULL, 0))
      _exit(1);
    char buf[JD_CPUSET_MAX];
    bool shared;
    char c = !strcmp(core_of(l, 0, &shared, buf), "0") ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(ready[1]);
  char c = 0;
  cr_assert_eq(read(ready[0], &c, 1), 1);
  cr_assert_eq(c, 'y');
  close(ready[0]);
  /* The child holds both: nothing for us. */
  jd_cpu_lease *l = take("0-1", 1);
  char buf[JD_CPUSET_MAX];
  bool shared;
  cr_assert_str_eq(core_of(l, 0, &shared, buf), "0-1");
  jd_cpu_lease_free(l);
  kill(pid, SIGKILL);
  cr_assert_eq(waitpid(pid, NULL, 0), pid);
  l = take("0-1", 1);
  cr_assert_str_eq(core_of(l, 0, &shared, buf), "0");
  cr_assert_str_eq(core_of(l, -1, &shared, buf), "1");
  cr_assert_not(shared);
  jd_cpu_lease_free(l);
}

Test(cpu_lease, a_bad_pool_is_refused_and_a_planted_link_is_not_followed) {
  jd_ctx ctx = {.state_dir = state, .cpu_pool = "0-1,x"};
  jd_cpu_lease *l = NULL;
  char err[256] = "";
  cr_assert_eq(jd_cpu_lease_take(&l, &ctx, 1, err, sizeof err), -1);
  cr_assert_null(l);
  cr_assert(strstr(err, "cpu_pool"), "%s", err);
  /* A link planted as a core's lock: that core is never leased. */
  char dir[600], target[620], link[620];
  snprintf(dir, sizeof dir, "%s/locks", state);
  cr_assert_eq(jd_mkdir_p(dir, 0700), 0);
  snprintf(target, sizeof target, "%s/elsewhere", state);
  snprintf(link, sizeof link, "%s/cpu-7", dir);
  cr_assert_eq(symlink(target, link), 0);
  l = take("6-8", 1);
  char buf[JD_CPUSET_MAX];
  bool shared;
  cr_assert_str_eq(core_of(l, 0, &shared, buf), "6");
  cr_assert_str_eq(core_of(l, -1, &shared, buf), "8");
  cr_assert_eq(access(target, F_OK), -1, "the link was followed");
  jd_cpu_lease_free(l);
  /* A buffer too short: no cpuset rather than a cut one. */
  l = take("10-11", 1);
  char tiny[2];
  cr_assert_str_eq(jd_cpu_lease_for(l, 0, &shared, tiny, sizeof tiny), "");
  jd_cpu_lease_free(l);
  /* NULL lease: no cpuset. */
  cr_assert_str_eq(jd_cpu_lease_for(NULL, 0, &shared, buf, sizeof buf), "");
  cr_assert_not(shared);
}

/* ---- a match on cores of its own (the engine) ------------------------------ */

static tm_env env;
static void match_setup(void) { tm_setup(&env); }
static void match_teardown(void) { tm_teardown(&env); }
TestSuite(cpu_match, .init = match_setup, .fini = match_teardown, .timeout = 240);

/* The game logic's HostConfig.CpusetCpus, read by the result hook, which
 * runs before the containers go (the player's is gone by then: it says
 * its own in its log). */
/* At the game logic's start (its container runs: a unit removes its
 * container once it exited, possibly before the result), the cpuset the
 * engine was given for it. */
static void on_event(void *ud, const jd_match_event *ev) {
  if (ev->type != JD_EVENT_GAME_LOGIC_STARTED)
    return;
  char *gl = ud;
  char label[128], role[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, env.host);
  snprintf(role, sizeof role, "%s=game_logic", JD_LABEL_ROLE);
  const char *labels[] = {label, role, NULL};
  dk_container_list *cl = NULL;
  if (dk_container_list_by_label(&cl, env.dk, true, labels))
    return;
  dk_container_info *info = NULL;
  if (cl->count == 1 && !dk_container_inspect(&info, env.dk, cl->items[0].id)) {
    json_object *o = json_tokener_parse(info->raw_json), *hc, *cs;
    if (json_object_object_get_ex(o, "HostConfig", &hc) &&
        json_object_object_get_ex(hc, "CpusetCpus", &cs))
      snprintf(gl, 64, "%s", json_object_get_string(cs));
    json_object_put(o);
    dk_container_info_free(info);
  }
  dk_container_list_free(cl);
}

/* A player that prints the CPUs the kernel lets it run on. */
static char *cpus_player(void) {
  char *dir = t_tmpdir("cpuplayer"), path[600];
  snprintf(path, sizeof path, "%s/main.sh", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("grep Cpus_allowed_list /proc/self/status\n", f);
  fclose(f);
  cr_assert_eq(chmod(path, 0644), 0);
  cr_assert_eq(chmod(dir, 0755), 0);
  return dir;
}

/* What the player printed: "Cpus_allowed_list:\t0". */
static void player_cpus(char out[64]) {
  char path[600];
  snprintf(path, sizeof path, "%s/player_0.log", env.out);
  char *log = NULL;
  cr_assert_eq(jd_read_file(&log, NULL, path, 1 << 20), 0);
  const char *line = strstr(log, "Cpus_allowed_list:");
  cr_assert_not_null(line, "%s", log);
  cr_assert_eq(sscanf(line, "Cpus_allowed_list: %63s", out), 1);
  free(log);
}

/* The result and result.json name each container's cores. */
static void assert_result_cpuset(const jd_match_result *r, const char *player, const char *gl,
                                 bool shared) {
  cr_assert_str_eq(r->instances[0].cpuset ? r->instances[0].cpuset : "", player);
  cr_assert_eq(r->instances[0].cpuset_shared, shared);
  cr_assert_str_eq(r->game_logic.cpuset ? r->game_logic.cpuset : "", gl);
  cr_assert_eq(r->game_logic.cpuset_shared, shared);
  char *text = tm_read(&env, "result.json", NULL);
  json_object *o = json_tokener_parse(text), *g, *inst, *v;
  cr_assert(json_object_object_get_ex(o, "game_logic", &g));
  cr_assert(json_object_object_get_ex(g, "cpuset", &v));
  cr_assert_str_eq(json_object_get_string(v), gl);
  cr_assert(json_object_object_get_ex(g, "cpuset_shared", &v));
  cr_assert_eq(json_object_get_boolean(v), shared);
  cr_assert(json_object_object_get_ex(o, "instances", &inst));
  cr_assert(json_object_object_get_ex(json_object_array_get_idx(inst, 0), "cpuset", &v));
  cr_assert_str_eq(json_object_get_string(v), player);
  json_object_put(o);
  free(text);
}

Test(cpu_match, a_player_and_the_game_logic_run_on_cores_of_their_own) {
  env.ctx.cpu_pool = "0-1";
  char *dir = cpus_player();
  char *a = tm_program("cpus", dir);
  char *spec = tm_spec("cpuset", a, "{\"seed\":3,\"plan\":\"0\",\"mode\":\"bench\"}",
                       "{\"cpuset\":\"auto\"}");
  char gl[64] = "";
  jd_match_hooks hooks = {.event = on_event, .ud = gl};
  jd_match_result *r = tm_run(&env, spec, &hooks);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  char player[64] = "";
  player_cpus(player);
  cr_assert(!strcmp(player, "0") || !strcmp(player, "1"), "player's cpus '%s'", player);
  cr_assert(!strcmp(gl, "0") || !strcmp(gl, "1"), "game logic's cpuset '%s'", gl);
  cr_assert_str_neq(player, gl);
  /* result.json says so. */
  cr_assert_eq(r->ninstances, 1);
  assert_result_cpuset(r, player, gl, false);
  jd_match_result_free(r);
  free(spec);
  free(a);
  t_rmdir(dir);
  tm_assert_clean(&env);
  /* The lease went with the match: a new one gets both cores. */
  jd_cpu_lease *l = NULL;
  char err[256] = "";
  cr_assert_eq(jd_cpu_lease_take(&l, &env.ctx, 1, err, sizeof err), 0, "%s", err);
  char buf[JD_CPUSET_MAX];
  bool shared;
  cr_assert_str_eq(jd_cpu_lease_for(l, 0, &shared, buf, sizeof buf), "0");
  cr_assert_not(shared);
  jd_cpu_lease_free(l);
}

/* ---- the settings --------------------------------------------------------- */

Test(cpu_settings, the_three_settings_are_checked_and_reach_the_context) {
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  char err[256] = "";
  cr_assert_eq(jd_config_set(&c, "cpu_pool", "0-1,x", err, sizeof err), -1);
  cr_assert(!strncmp(err, "cpu_pool: ", 10), "%s", err);
  cr_assert_eq(jd_config_set(&c, "cpu_pool", "2048", err, sizeof err), -1);
  cr_assert_eq(jd_config_set(&c, "clock_backend", "cgroups", err, sizeof err), -1);
  cr_assert_str_eq(err, "clock_backend: auto, api or cgroup");
  cr_assert_eq(jd_config_set(&c, "cgroup_root", "sys/fs/cgroup", err, sizeof err), -1);
  cr_assert_eq(jd_config_set(&c, "cgroup_root", "", err, sizeof err), -1);
  jd_ctx ctx = {0};
  jd_config_cores(&ctx, &c);
  cr_assert_null(ctx.cpu_pool);
  cr_assert_str_eq(ctx.clock_backend, "auto");
  cr_assert_str_eq(ctx.cgroup_root, "/sys/fs/cgroup");
  cr_assert_eq(jd_config_set(&c, "cpu-pool", "0-3", err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_config_set(&c, "clock_backend", "cgroup", err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_config_set(&c, "cgroup_root", "/host/cgroup", err, sizeof err), 0, "%s", err);
  jd_config_cores(&ctx, &c);
  cr_assert_str_eq(ctx.cpu_pool, "0-3");
  cr_assert_str_eq(ctx.clock_backend, "cgroup");
  cr_assert_str_eq(ctx.cgroup_root, "/host/cgroup");
  jd_config_clear(&c);
}

Test(cpu_match, with_every_core_leased_elsewhere_the_match_runs_on_the_whole_pool) {
  env.ctx.cpu_pool = "0-1";
  jd_cpu_lease *other = NULL;
  char err[256] = "";
  cr_assert_eq(jd_cpu_lease_take(&other, &env.ctx, 1, err, sizeof err), 0, "%s", err);
  char *dir = cpus_player();
  char *a = tm_program("cpus", dir);
  char *spec = tm_spec("cpushort", a, "{\"seed\":3,\"plan\":\"0\",\"mode\":\"bench\"}",
                       "{\"cpuset\":\"auto\"}");
  char gl[64] = "";
  jd_match_hooks hooks = {.event = on_event, .ud = gl};
  jd_match_result *r = tm_run(&env, spec, &hooks);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  char player[64] = "";
  player_cpus(player);
  cr_assert_str_eq(player, "0-1");
  cr_assert_str_eq(gl, "0-1");
  assert_result_cpuset(r, "0-1", "0-1", true);
  jd_match_result_free(r);
  free(spec);
  free(a);
  t_rmdir(dir);
  jd_cpu_lease_free(other);
  tm_assert_clean(&env);
}
