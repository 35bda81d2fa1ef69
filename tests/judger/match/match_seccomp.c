// test-labels: engine
/* The judger's seccomp profile and /dev/shm: a player's io_uring_setup,
 * keyctl, bpf, unshare, userfaultfd and vsock socket fail with EPERM,
 * /dev/shm holds at most 64 KiB; the control shows the probe works (with
 * no profile at all io_uring_setup gets through). */
#include <sys/stat.h>

#include "match_support.h"

static tm_env env;
static char *dir;
static void setup(void) {
  tm_setup(&env);
  dir = t_tmpdir("sysprobe");
  chmod(dir, 0755);
  char cmd[800];
  snprintf(cmd, sizeof cmd, "gcc -static -O1 -o %s/probe %s/samples/hostile/syscalls/probe.c", dir,
           JD_SOURCE_DIR);
  cr_assert_eq(system(cmd), 0, "cannot build the probe");
}
static void teardown(void) {
  t_rmdir(dir);
  tm_teardown(&env);
}
TestSuite(seccomp, .init = setup, .fini = teardown, .timeout = 120);

Test(seccomp, each_blocked_call_fails_in_a_player) {
  char *p = NULL;
  cr_assert(asprintf(&p,
                     "{\"id\":\"probe\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s\","
                     "\"cmd\":[\"/app/probe\"]}",
                     dir) > 0);
  char *spec = tm_spec("sys-probe", p, "{\"seed\":1,\"plan\":\"0\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  char *log = tm_read(&env, "player_0.log", NULL);
  static const char *const want[] = {
      "io_uring_setup:EPERM", "keyctl:EPERM", "bpf:EPERM", "unshare:EPERM",
      "userfaultfd:EPERM",    "vsock:EPERM",  "getpid:OK"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_assert(strstr(log, want[i]), "no %s in %s", want[i], log);
  /* /dev/shm: 64 KiB at most (a short write or none). */
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", log);
  const char *at = strstr(copy, "shm:");
  cr_assert_not_null(at, "%s", copy);
  long shm = atol(at + 4);
  cr_assert_leq(shm, 64 << 10, "%s", log);
  free(log);
  jd_match_result_free(r);
  free(spec);
  free(p);
  tm_assert_clean(&env);
}

/* The control: the same probe without any seccomp profile gets through, so
 * the EPERMs above are the profile's doing and not the probe's. Not the
 * engine's default profile: Docker 25 and later refuse io_uring by default
 * themselves (the 26.1 engine of the suite does). */
Test(seccomp, control_without_a_profile_the_probe_gets_through) {
  char bind[600];
  snprintf(bind, sizeof bind, "%s:/app:ro", dir);
  const char *binds[] = {bind, NULL};
  const char *cmd[] = {"/app/probe", NULL};
  const char *unconfined[] = {"seccomp=unconfined", NULL};
  dk_kv labels[] = {{JD_LABEL_HOST, env.host}};
  dk_container_config cc = {
      .image = T_BUSYBOX_IMAGE,
      .cmd = cmd,
      .labels = labels,
      .nlabels = 1,
      .host = {.binds = binds, .network_mode = "none", .security_opt = unconfined}};
  char *id = NULL;
  cr_assert_eq(dk_container_create(&id, env.dk, NULL, &cc), 0);
  cr_assert_eq(dk_container_start(env.dk, id), 0);
  int64_t code = -1;
  cr_assert_eq(dk_container_wait(&code, env.dk, id, NULL, NULL), 0);
  dk_buf out = DK_BUF_INIT(1 << 16), err = DK_BUF_INIT(1 << 16);
  cr_assert_eq(dk_container_logs_collect(env.dk, id, NULL, &out, &err, NULL), 0);
  dk_container_remove(env.dk, id, true, true);
  free(id);
  cr_assert_not_null(out.data);
  cr_assert(strstr(out.data, "io_uring_setup:OK"), "%s", out.data);
  dk_buf_free(&out);
  dk_buf_free(&err);
  tm_assert_clean(&env);
}
