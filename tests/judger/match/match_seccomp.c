// test-labels: engine
/* The judger's seccomp profile and /dev/shm: in a player, each refused
 * call fails (io_uring_setup, keyctl, bpf, unshare, userfaultfd, modify_ldt,
 * a persona Docker does not allow, memfd_secret, clone with a namespace
 * flag, sockets of families other than UNIX/INET/INET6/NETLINK: EPERM; a
 * call newer than the list and clone3: ENOSYS; an i386 or x32 call does not
 * run) while what runtimes need works (those four families, socketpair,
 * threads, fork, the persona query); /dev/shm holds at most 64 KiB. The
 * control shows the probe works: with no profile at all the same calls get
 * through or fail with the kernel's own errors, never EPERM. The profile's
 * structure is checked by tests/judger/match/seccomp.c. */
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
/* line is a whole line of log. */
static bool has_line(const char *log, const char *line) {
  size_t n = strlen(line);
  for (const char *at = strstr(log, line); at; at = strstr(at + 1, line))
    if ((at == log || at[-1] == '\n') && (at[n] == '\n' || at[n] == '\0'))
      return true;
  return false;
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
      /* refused */
      "io_uring_setup:EPERM", "keyctl:EPERM", "bpf:EPERM", "unshare:EPERM", "userfaultfd:EPERM",
      "vsock:EPERM", "modify_ldt:EPERM", "personality_exec:EPERM", "memfd_secret:EPERM",
      "clone_newuser:EPERM", "clone3:ENOSYS", "socket_packet:EPERM", "socket_alg:EPERM",
      "socket_key:EPERM", "socket_bluetooth:EPERM", "socketpair_inet:EPERM",
      /* allowed */
      "personality_query:OK", "socket_unix:OK", "socket_inet:OK", "socket_inet6:OK",
      "socket_netlink:OK", "socketpair_unix:OK", "thread:OK", "fork:OK", "getpid:OK"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_assert(has_line(log, want[i]), "no %s in %s", want[i], log);
  /* Newer than the list (listmount, Linux 6.8): ENOSYS from runc's stub
   * (EPERM from an engine without it), never run. */
  cr_assert(has_line(log, "listmount:ENOSYS") || has_line(log, "listmount:EPERM"), "%s", log);
  /* The i386 and x32 ABIs are not in the profile: the call never runs (the
   * process is killed with SIGSYS, or the call fails). */
  cr_assert(strstr(log, "\ni386:") && !has_line(log, "i386:OK"), "%s", log);
  cr_assert(strstr(log, "\nx32:") && !has_line(log, "x32:OK"), "%s", log);
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
  cr_assert(has_line(out.data, "io_uring_setup:OK"), "%s", out.data);
  cr_assert(has_line(out.data, "personality_exec:OK"), "%s", out.data);
  /* The kernel's own answer for the others (supported or not), never the
   * EPERM the profile gives. */
  static const char *const not_eperm[] = {
      "modify_ldt",       "memfd_secret",    "listmount", "socket_alg",
      "socket_bluetooth", "socketpair_inet", "clone3",    "i386"};
  for (size_t i = 0; i < sizeof not_eperm / sizeof not_eperm[0]; i++) {
    char line[64];
    snprintf(line, sizeof line, "%s:EPERM", not_eperm[i]);
    cr_assert(!has_line(out.data, line), "%s in %s", line, out.data);
  }
  dk_buf_free(&out);
  dk_buf_free(&err);
  tm_assert_clean(&env);
}
