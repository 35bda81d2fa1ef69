// test-labels: engine redis
/* What a task may ask of a host (common/policy.h), held where tasks come
 * in: `judger run` and `judger build` exit 2 naming the field and the
 * setting, the daemon dead-letters the task naming the field, and nothing
 * ran. Each child gets the policy's settings explicitly (the suite's own,
 * tests/CMakeLists.txt, are cleared first), so the defaults are what is
 * tested unless a test says otherwise. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build/image_cache.h"
#include "daemon_proc.h"
#include "match_support.h"
#include "redis_server.h"
#include "common/tmpfile.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(cmd_policy, .init = setup, .fini = teardown, .timeout = 240);

/* Runs the judger with argv and the policy settings of settings (NAME=VALUE,
 * NULL-terminated; every other JUDGER_ policy variable cleared); *err gets
 * its stderr. Returns the exit code. */
static int run_judger(char **err, char *const *argv, const char *const *settings) {
  int e[2];
  cr_assert_eq(pipe(e), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    static const char *const cleared[] = {"JUDGER_PROGRAM_ROOTS",  "JUDGER_GIT_SCHEMES",
                                          "JUDGER_BUILD_NETWORKS", "JUDGER_ALLOW_ROOT_USER",
                                          "JUDGER_MAX_MEMORY",     "JUDGER_CONFIG",
                                          "JUDGER_FETCH_PRIVATE"};
    for (size_t i = 0; i < sizeof cleared / sizeof cleared[0]; i++)
      unsetenv(cleared[i]);
    setenv("JUDGER_CONFIG", "", 1); /* never the host's /etc/judger */
    for (const char *const *s = settings; s && *s; s++)
      putenv((char *)*s);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(e[1], 2);
    close(e[0]);
    execv(JD_BINARY_DIR "/bin/judger", argv);
    _exit(127);
  }
  close(e[1]);
  dk_buf b = DK_BUF_INIT(1 << 20);
  char tmp[4096];
  ssize_t n;
  while ((n = read(e[0], tmp, sizeof tmp)) > 0)
    dk_buf_append(&b, tmp, (size_t)n);
  close(e[0]);
  *err = dk_buf_detach(&b, NULL);
  if (!*err)
    *err = strdup("");
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st));
  return WEXITSTATUS(st);
}

/* A directory of the host's that the judger can read and a task should
 * not: mode 0700, with a root-owned 0600 canary. */
static char *canary_dir(char canary[64]) {
  char *dir = t_tmpdir("policy-host");
  cr_assert_eq(chmod(dir, 0700), 0);
  snprintf(canary, 64, "CANARY-%d-%ld", (int)getpid(), (long)time(NULL));
  char path[512];
  snprintf(path, sizeof path, "%s/canary", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, canary, strlen(canary)), (ssize_t)strlen(canary));
  close(fd);
  return dir;
}

static char *write_spec(const char *json) {
  char *path = NULL;
  cr_assert(asprintf(&path, "%s/spec.json", env.state) > 0);
  cr_assert_eq(jd_write_file(path, json, strlen(json)), 0);
  return path;
}

/* Whether the out dir holds anything at all. */
static bool out_empty(void) {
  int fd = open(env.out, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return true;
  DIR *d = fdopendir(fd);
  bool empty = true;
  for (struct dirent *de; d && (de = readdir(d));)
    empty = empty && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
  if (d)
    closedir(d);
  return empty;
}

/* Row 1 of issue 20: a game logic with "image", "dir" naming a host
 * directory of mode 0700 and "user": "0:0" mounted the directory and ran
 * as root; the canary came back in the log and an output file. */
Test(cmd_policy, a_host_directory_and_root_are_refused_and_nothing_runs) {
  char canary[64];
  char *host_dir = canary_dir(canary);
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"steal\",\"game_logic\":{\"id\":\"g\",\"image\":\"" T_BUSYBOX_IMAGE
           "\",\"dir\":\"%s\",\"cmd\":[\"sh\",\"-c\",\"cat /app/canary; cat /app/canary > "
           "/judger/out/leak\"]},\"players\":[{\"id\":\"p\",\"image\":\"" T_BUSYBOX_IMAGE
           "\",\"cmd\":[\"true\"]}],\"limits\":{\"user\":\"0:0\"}}",
           host_dir);
  char *spec = write_spec(json);
  char *const argv[] = {"judger",  "run",       spec,     "--out",  env.out, "--state-dir",
                        env.state, "--host-id", env.host, "--json", NULL};
  char *err = NULL;
  /* The defaults: programs only from the judger's own builds. */
  cr_assert_eq(run_judger(&err, argv, NULL), 2, "%s", err);
  cr_assert(strstr(err, "game_logic.dir") && strstr(err, "program_roots"), "%s", err);
  free(err);
  /* The directory allowed, root still is not. */
  char roots[600];
  snprintf(roots, sizeof roots, "JUDGER_PROGRAM_ROOTS=%.*s",
           (int)(strrchr(host_dir, '/') - host_dir), host_dir);
  const char *allow_dir[] = {roots, NULL};
  cr_assert_eq(run_judger(&err, argv, allow_dir), 2, "%s", err);
  cr_assert(strstr(err, "limits.game_logic.user") && strstr(err, "allow_root_user"), "%s", err);
  cr_assert_null(strstr(err, canary));
  free(err);
  /* Nothing ran: no output, no container, no network of this host. */
  cr_assert(out_empty(), "the refused match left files in %s", env.out);
  cr_assert_eq(t_host_containers(env.dk, env.host), 0);
  cr_assert_eq(t_host_networks(env.dk, env.host), 0);
  free(spec);
  t_rmdir(host_dir);
}

/* Ceilings: a value past the host's is refused naming the field and the
 * setting, never clamped. */
Test(cmd_policy, limits_past_the_ceilings_exit_2_naming_the_setting) {
  static const struct {
    const char *limits, *setting, *field, *key;
  } cases[] = {
      {"{\"players\":{\"memory\":\"4096g\"}}", NULL, "players[0].limits.memory", "max_memory"},
      {"{\"players\":{\"memory\":\"513m\"}}", "JUDGER_MAX_MEMORY=512m", "players[0].limits.memory",
       "max_memory"},
      {"{\"pids\":4000000}", NULL, "limits.game_logic.pids", "max_pids"},
      {"{\"players\":{\"wall_ms\":604800000}}", NULL, "players[0].limits.wall_ms", "max_wall_ms"},
      {"{\"deadline_ms\":604800000}", NULL, "limits.deadline_ms", "max_deadline_ms"},
      {"{\"cpus\":200}", NULL, "limits.game_logic.cpus", "max_cpus"},
      {"{\"max_instances\":5000}", NULL, "limits.max_instances", "max_instances"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"id\":\"big\",\"game_logic\":{\"id\":\"g\",\"image\":\"" T_BUSYBOX_IMAGE
             "\",\"cmd\":[\"true\"]},\"players\":[{\"id\":\"p\",\"image\":\"" T_BUSYBOX_IMAGE
             "\",\"cmd\":[\"true\"]}],\"limits\":%s}",
             cases[i].limits);
    char *spec = write_spec(json);
    char *const argv[] = {"judger",      "run",     spec,        "--out",  env.out,
                          "--state-dir", env.state, "--host-id", env.host, NULL};
    const char *settings[] = {cases[i].setting, NULL};
    char *err = NULL;
    cr_assert_eq(run_judger(&err, argv, settings), 2, "%s: %s", cases[i].limits, err);
    cr_assert(strstr(err, cases[i].field) && strstr(err, cases[i].key), "%s: %s", cases[i].limits,
              err);
    free(err);
    free(spec);
  }
  cr_assert(out_empty());
  cr_assert_eq(t_host_containers(env.dk, env.host), 0);
}

/* A local git repository holding a program FROM the test image. */
static char *git_repo(void) {
  char *dir = t_tmpdir("policy-git");
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cd %s && git init -q && printf 'FROM " T_BUSYBOX_IMAGE
           "\\nCMD [\"true\"]\\n' > run.Dockerfile && git add run.Dockerfile && "
           "git -c user.name=t -c user.email=t@t commit -qm one",
           dir);
  cr_assert_eq(system(cmd), 0);
  return dir;
}

/* Rows 2 and 3: a build asking for the host's network, and a build from
 * a repository the judger can read on the host (file://). */
Test(cmd_policy, builds_refuse_the_host_network_and_file_urls_unless_allowed) {
  t_busybox_image(env.dk);
  char *repo = git_repo();
  char url[600];
  snprintf(url, sizeof url, "file://%s", repo);
  char *err = NULL;
  const char *nets[] = {"host", "container:judger-build-proxy", "bridge"};
  for (size_t i = 0; i < 3; i++) {
    char *const argv[] = {"judger",
                          "build",
                          "--domain",
                          "ai",
                          "--id",
                          "pol1",
                          "--git",
                          url,
                          "--op",
                          "run",
                          "--image-network",
                          (char *)nets[i],
                          "--state-dir",
                          env.state,
                          NULL};
    const char *allow_file[] = {"JUDGER_GIT_SCHEMES=https,file", NULL};
    cr_assert_eq(run_judger(&err, argv, allow_file), 2, "%s: %s", nets[i], err);
    cr_assert(strstr(err, "--image-network"), "%s", err);
    free(err);
  }
  char *const argv[] = {"judger", "build", "--domain", "ai",          "--id",    "pol1",    "--git",
                        url,      "--op",  "run",      "--state-dir", env.state, "--quiet", NULL};
  cr_assert_eq(run_judger(&err, argv, NULL), 2, "%s", err);
  cr_assert(strstr(err, "--git") && strstr(err, "git_schemes"), "%s", err);
  free(err);
  /* The same repository by its path: a local path is "file" too. */
  char *const by_path[] = {"judger",      "build",   "--domain", "ai",   "--id",
                           "pol1",        "--git",   repo,       "--op", "run",
                           "--state-dir", env.state, "--quiet",  NULL};
  cr_assert_eq(run_judger(&err, by_path, NULL), 2, "%s", err);
  free(err);
  /* Allowed by the operator: it builds. */
  const char *allow_file[] = {"JUDGER_GIT_SCHEMES=https,file", NULL};
  cr_assert_eq(run_judger(&err, argv, allow_file), 0, "%s", err);
  free(err);
  jd_image_purge(NULL, NULL, &env.ctx, "ai", "pol1", true, NULL, 0);
  t_rmdir(repo);
}

/* The daemon: the same refusals are dead letters naming the field, and the
 * tasks never ran. */
Test(cmd_policy, the_daemon_dead_letters_what_the_host_does_not_allow) {
  t_redis *srv = t_redis_start(false, false);
  /* The daemon as deployed: the ACL user of docs/deployment.md. */
  t_redis_acl_user(srv, "judger", "pol-s3cret");
  char url[128];
  snprintf(url, sizeof url, "redis://judger:pol-s3cret@127.0.0.1:%d/0", srv->port);
  /* The defaults for what the suite's environment widens (tests/CMakeLists.txt). */
  t_proc *d = t_daemon_spawn(url, env.host, env.state, "--git-schemes https,ssh");
  jd_queue *q = t_queue_client(srv->url);
  cr_assert_eq(jd_queue_setup(q), 0, "%s", jd_queue_error(q));
  static const struct {
    const char *id, *task, *field;
  } cases[] = {
      {"pol-dir",
       "{\"id\":\"pol-dir\",\"type\":\"match\",\"match\":{\"id\":\"pol-dir\",\"game_logic\":{"
       "\"id\":"
       "\"g\",\"image\":\"" T_BUSYBOX_IMAGE
       "\",\"dir\":\"/etc\",\"cmd\":[\"cat\",\"/app/shadow\"]},"
       "\"players\":[{\"id\":\"p\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}]}}",
       "game_logic.dir"},
      {"pol-net",
       "{\"id\":\"pol-net\",\"type\":\"build\",\"build\":{\"domain\":\"ai\",\"id\":\"poln\","
       "\"git\":\"https://forge.invalid/x.git\",\"limits\":{\"image_network\":\"host\"}}}",
       "build.limits.image_network"},
      {"pol-file",
       "{\"id\":\"pol-file\",\"type\":\"build\",\"build\":{\"domain\":\"ai\",\"id\":\"polf\","
       "\"git\":\"file:///var/lib/judger/git/x.git\"}}",
       "build.git"},
      {"pol-tar",
       "{\"id\":\"pol-tar\",\"type\":\"build\",\"build\":{\"domain\":\"ai\",\"id\":\"polt\","
       "\"tar_url\":\"http://127.0.0.1:2375/containers/json\"}}",
       "build.tar_url"},
      {"pol-user",
       "{\"id\":\"pol-user\",\"type\":\"match\",\"match\":{\"id\":\"pol-user\",\"game_logic\":{"
       "\"id\":\"g\",\"image\":\"" T_BUSYBOX_IMAGE
       "\",\"cmd\":[\"id\"]},\"players\":[{\"id\":\"p\","
       "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"limits\":{\"user\":"
       "\"99999999999999999999:99999999999999999999\"}}}",
       "limits.game_logic.user"},
      {"pol-mem",
       "{\"id\":\"pol-mem\",\"type\":\"match\",\"match\":{\"id\":\"pol-mem\",\"game_logic\":{"
       "\"id\":"
       "\"g\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]},\"players\":[{\"id\":\"p\","
       "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"limits\":{\"memory\":\"4096g\"}}}",
       "max_memory"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *eid = NULL;
    cr_assert_eq(jd_queue_submit(&eid, q, JD_PRIO_MATCH, cases[i].id, cases[i].task), 0, "%s",
                 jd_queue_error(q));
    free(eid);
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    free(t_wait_task_state(q, cases[i].id, "dead", 20000));
    char *reason = t_task_field(q, cases[i].id, "reason");
    cr_assert(reason && strstr(reason, cases[i].field), "%s: %s", cases[i].id, reason);
    free(reason);
  }
  cr_assert_eq(t_host_containers(env.dk, env.host), 0);
  jd_queue_free(q);
  t_proc_free(d);
  t_redis_stop(srv);
}

/* A daemon with a wrong Redis password is a system fault with Redis's
 * reason in its log, never a task's: it takes nothing and keeps trying. */
Test(cmd_policy, a_wrong_redis_password_is_refused_with_the_reason) {
  t_redis *srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger", "right");
  char url[128];
  snprintf(url, sizeof url, "redis://judger:wrong@127.0.0.1:%d/0", srv->port);
  t_proc *d = t_daemon_spawn(url, env.host, env.state, NULL);
  char *log = NULL;
  size_t len = 0;
  for (int i = 0; i < 100; i++) {
    free(log);
    log = NULL;
    if (jd_read_file(&log, &len, d->log, 1 << 20) == 0 && strstr(log, "WRONGPASS"))
      break;
    usleep(100000);
  }
  cr_assert(log && strstr(log, "WRONGPASS"), "the daemon's log: %s", log ? log : "(none)");
  cr_assert_null(strstr(log, "wrong@"), "the password is in the log");
  cr_assert_eq(t_proc_wait(d, 0), -1, "the daemon gave up instead of retrying");
  free(log);
  t_proc_free(d);
  t_redis_stop(srv);
}
