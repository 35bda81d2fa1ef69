// test-labels: unit
/* Program sources: directory, git (mirror cache, refs, export), tarball. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/source_internal.h"
#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

/* The kind of the last failure of a source call (common/error.h). */
static jd_fail_kind kind;

static void put(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0, "write %s", p);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

static char *sh_out(const char *cmd) {
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  char buf[256] = "";
  cr_assert(fgets(buf, sizeof buf, p));
  pclose(p);
  buf[strcspn(buf, "\n")] = '\0';
  return strdup(buf);
}

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main"

/* ---- tree hash --------------------------------------------------------------- */

Test(source, tree_hash_follows_content_names_and_exec_bits) {
  char *d = t_tmpdir("hash");
  put(d, "run.Dockerfile", "FROM scratch\n");
  put(d, "a.c", "int main(void){return 0;}\n");
  char h1[65], h2[65], h3[65], h4[65];
  cr_assert_eq(jd_tree_hash(h1, d), 0);
  cr_assert_eq(jd_tree_hash(h2, d), 0);
  cr_assert_str_eq(h1, h2, "hash not stable");
  put(d, "a.c", "int main(void){return 1;}\n");
  cr_assert_eq(jd_tree_hash(h3, d), 0);
  cr_assert_str_neq(h1, h3, "content change not seen");
  char p[4096];
  snprintf(p, sizeof p, "%s/a.c", d);
  chmod(p, 0755);
  cr_assert_eq(jd_tree_hash(h4, d), 0);
  cr_assert_str_neq(h3, h4, "exec bit not seen");
  /* Same bytes under another name: a different tree. */
  char *e = t_tmpdir("hash2");
  put(e, "run.Dockerfile", "FROM scratch\n");
  put(e, "b.c", "int main(void){return 0;}\n");
  cr_assert_eq(jd_tree_hash(h2, e), 0);
  cr_assert_str_neq(h1, h2);
  t_rmdir(d);
  t_rmdir(e);
}

/* The format of the hash is the cache key of every artifact built: the
 * value below was computed by the recursive version the walk replaced, on
 * the same tree (byte order "a" < "a-c" < "a.b", a directory's entries
 * right after it, an exec bit, an empty file, a link, a FIFO left out). */
Test(source, tree_hash_keeps_its_format) {
  char *d = t_tmpdir("hashfmt");
  char p[4400];
  snprintf(p, sizeof p, "%s/a/b", d);
  cr_assert_eq(jd_mkdir_p(p, 0755), 0);
  snprintf(p, sizeof p, "%s/a.b", d);
  cr_assert_eq(mkdir(p, 0755), 0);
  put(d, "run.Dockerfile", "FROM scratch\n");
  put(d, "a/b/main.c", "int main(void){return 0;}\n");
  put(d, "run.sh", "#!/bin/sh\necho hi\n");
  put(d, "a-c", "");
  snprintf(p, sizeof p, "%s/run.sh", d);
  cr_assert_eq(chmod(p, 0755), 0);
  snprintf(p, sizeof p, "%s/link", d);
  cr_assert_eq(symlink("a/b/main.c", p), 0);
  snprintf(p, sizeof p, "%s/fifo", d);
  cr_assert_eq(mkfifo(p, 0644), 0);
  char h[65];
  cr_assert_eq(jd_tree_hash(h, d), 0, "%s", strerror(errno));
  cr_assert_str_eq(h, "ca13ea70c8ccf6e65f1480c60aa659df6b3ae518e5908a18d4b88b449af665d3");
  t_rmdir(d);
}

/* A chain of n directories "a" under root; returns the deepest one. */
static char *chain(const char *root, int n) {
  char *p = malloc(strlen(root) + 2 * (size_t)n + 1);
  cr_assert(p);
  strcpy(p, root);
  for (int i = 0; i < n; i++)
    strcat(p, "/a");
  cr_assert_eq(jd_mkdir_p(p, 0755), 0);
  return p;
}

Test(source, a_directory_source_deeper_than_the_limit_is_the_programs_fault) {
  char *d = t_tmpdir("deepsrc");
  put(d, "run.Dockerfile", "FROM scratch\n");
  free(chain(d, 600));
  /* The hash itself goes any depth without a stack of calls. */
  char h[65];
  cr_assert_eq(jd_tree_hash(h, d), 0, "%s", strerror(errno));
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .dir = d};
  jd_source *s = NULL;
  char err[512] = "";
  cr_assert_eq(jd_source_open(&s, NULL, &ref, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert_null(s);
  cr_assert_str_eq(err, "the source tree is deeper than the limit of 64 directory levels (a "
                        "directory at level 65)");
  t_rmdir(d);
  /* 64 levels are within the limit. */
  d = t_tmpdir("deepok");
  put(d, "run.Dockerfile", "FROM scratch\n");
  char *bottom = chain(d, JD_SOURCE_MAX_DEPTH);
  put(bottom, "leaf", "x");
  ref.dir = d;
  cr_assert_eq(jd_source_open(&s, NULL, &ref, &kind, err, sizeof err), 0, "%s", err);
  jd_source_free(s);
  free(bottom);
  t_rmdir(d);
}

Test(source, a_sparse_file_past_the_bytes_limit_is_refused_before_it_is_read) {
  char *d = t_tmpdir("sparsesrc");
  put(d, "run.Dockerfile", "FROM scratch\n");
  char p[4400];
  snprintf(p, sizeof p, "%s/bomb", d);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
  cr_assert(fd >= 0);
  cr_assert_eq(ftruncate(fd, (off_t)JD_SOURCE_MAX_BYTES + 1), 0);
  close(fd);
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .dir = d};
  jd_source *s = NULL;
  char err[512] = "";
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_source_open(&s, NULL, &ref, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "more than the limit of 1073741824 bytes"), "%s", err);
  /* Refused from its size, not after hashing a GiB of zeros. */
  cr_assert_lt(jd_mono_ms() - t0, 2000);
  t_rmdir(d);
}

/* ---- directories ------------------------------------------------------------- */

Test(source, directory_source_has_a_tree_identity) {
  char *d = t_tmpdir("srcdir");
  put(d, "run.Dockerfile", "FROM scratch\n");
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .dir = d};
  jd_source *s = NULL;
  char err[512] = "";
  cr_assert_eq(jd_source_open(&s, "/nonexistent-state", &ref, &kind, err, sizeof err), 0, "%s",
               err);
  char h[65], want[80];
  cr_assert_eq(jd_tree_hash(h, d), 0);
  snprintf(want, sizeof want, "tree:%s", h);
  cr_assert_str_eq(s->identity, want);
  cr_assert_null(s->commit);
  cr_assert_null(s->work_dir, "a directory source must not be copied");
  jd_source_free(s);
  t_rmdir(d);
}

Test(source, missing_run_dockerfile_is_the_programs_fault) {
  char *d = t_tmpdir("nodf");
  put(d, "main.c", "x");
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .dir = d};
  jd_source *s = NULL;
  char err[512] = "";
  cr_assert_eq(jd_source_open(&s, NULL, &ref, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert_null(s);
  cr_assert(strstr(err, "run.Dockerfile"), "%s", err);
  t_rmdir(d);
}

Test(source, symlinked_dockerfile_is_refused) {
  char *d = t_tmpdir("lnkdf");
  char p[4096];
  snprintf(p, sizeof p, "%s/run.Dockerfile", d);
  cr_assert_eq(symlink("/etc/passwd", p), 0);
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .dir = d};
  jd_source *s = NULL;
  char err[512] = "";
  cr_assert_eq(jd_source_open(&s, NULL, &ref, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  char *data = NULL;
  cr_assert_eq(
      jd_source_read_dockerfile(&data, NULL, d, "run.Dockerfile", false, &kind, err, sizeof err),
      -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert_null(data);
  cr_assert(strstr(err, "regular file"), "%s", err);
  t_rmdir(d);
}

Test(source, missing_directory_and_no_source_are_usage_errors) {
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .dir = "/nonexistent/dir"};
  jd_source *s = NULL;
  char err[512] = "";
  cr_assert_eq(jd_source_open(&s, NULL, &ref, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_USAGE);
  cr_assert(strstr(err, "/nonexistent/dir"), "%s", err);
  jd_program_ref none = {.domain = JD_DOMAIN_AI, .id = "x"};
  cr_assert_eq(jd_source_open(&s, NULL, &none, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_USAGE);
  jd_program_ref two = {.domain = JD_DOMAIN_AI, .id = "x", .dir = "/tmp", .git_url = "/tmp"};
  cr_assert_eq(jd_source_open(&s, NULL, &two, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_USAGE);
  cr_assert(strstr(err, "only one"), "%s", err);
}

Test(source, optional_build_dockerfile_may_be_missing) {
  char *d = t_tmpdir("optdf");
  char *data = (char *)1;
  char err[256];
  cr_assert_eq(
      jd_source_read_dockerfile(&data, NULL, d, "build.Dockerfile", true, &kind, err, sizeof err),
      0);
  cr_assert_null(data);
  t_rmdir(d);
}

/* ---- git --------------------------------------------------------------------- */

/* A repository with two commits: v1 (tagged) and main one commit later. */
static char *make_repo(const char *tmp) {
  char *w = NULL;
  cr_assert(asprintf(&w, "%s/work", tmp) > 0);
  sh("mkdir -p %s/sub && cd %s && " GIT " init -q . && printf 'FROM scratch\\n' > run.Dockerfile"
     " && printf 'one\\n' > sub/data.txt && printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh"
     " && ln -s sub/data.txt link && " GIT " add -A && " GIT " commit -qm one && " GIT
     " tag v1 && printf 'two\\n' > sub/data.txt && " GIT " commit -qam two",
     w, w);
  return w;
}

Test(source, git_export_at_a_tag_through_the_mirror) {
  char *tmp = t_tmpdir("git");
  char *w = make_repo(tmp);
  char url[4200], state[4200], dest[4200], cmd[4400];
  snprintf(url, sizeof url, "file://%s", w);
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(dest, sizeof dest, "%s/out", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  char *commit = NULL, *tree = NULL;
  char err[512] = "";
  cr_assert_eq(jd_git_export(&commit, &tree, state, url, "v1", dest, &kind, err, sizeof err), 0,
               "%s", err);
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse v1^{commit}", w);
  char *want = sh_out(cmd);
  cr_assert_str_eq(commit, want);
  free(want);
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse v1^{tree}", w);
  want = sh_out(cmd);
  cr_assert_str_eq(tree, want);
  free(want);
  char *data = NULL;
  char p[8700];
  snprintf(p, sizeof p, "%s/sub/data.txt", dest);
  cr_assert_eq(jd_read_file(&data, NULL, p, 100), 0);
  cr_assert_str_eq(data, "one\n", "tag v1 must give the first commit's content");
  free(data);
  struct stat st;
  snprintf(p, sizeof p, "%s/run.sh", dest);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert(st.st_mode & 0100, "exec bit lost");
  snprintf(p, sizeof p, "%s/link", dest);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "symlink not kept");
  /* The mirror is a bare repository named after the URL. */
  char mirror[4300];
  cr_assert_eq(jd_git_mirror_path(mirror, sizeof mirror, state, url), 0);
  snprintf(p, sizeof p, "%s/HEAD", mirror);
  cr_assert(jd_path_exists(p), "no mirror at %s", mirror);
  free(commit);
  free(tree);
  t_rmdir(tmp);
  free(w);
}

Test(source, git_mirror_serves_a_known_commit_without_the_origin) {
  char *tmp = t_tmpdir("gitoff");
  char *w = make_repo(tmp);
  char url[4200], state[4200], dest[4200], cmd[4400];
  snprintf(url, sizeof url, "file://%s", w);
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse main", w);
  char *head = sh_out(cmd);
  char err[512] = "";
  snprintf(dest, sizeof dest, "%s/o1", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  cr_assert_eq(jd_git_export(NULL, NULL, state, url, "main", dest, &kind, err, sizeof err), 0, "%s",
               err);
  /* The origin disappears: a full commit id already in the mirror still works. */
  sh("mv %s %s.gone", w, w);
  snprintf(dest, sizeof dest, "%s/o2", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  char *commit = NULL;
  cr_assert_eq(jd_git_export(&commit, NULL, state, url, head, dest, &kind, err, sizeof err), 0,
               "%s", err);
  cr_assert_str_eq(commit, head);
  /* A branch name needs a fetch, which now fails: the program's fault. */
  snprintf(dest, sizeof dest, "%s/o3", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  cr_assert_eq(jd_git_export(NULL, NULL, state, url, "main", dest, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "cannot fetch"), "%s", err);
  free(commit);
  free(head);
  free(w);
  t_rmdir(tmp);
}

Test(source, git_missing_ref_names_the_ref) {
  char *tmp = t_tmpdir("gitref");
  char *w = make_repo(tmp);
  char url[4200], state[4200], dest[4200];
  snprintf(url, sizeof url, "file://%s", w);
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(dest, sizeof dest, "%s/out", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  char err[512] = "";
  char *commit = (char *)1;
  cr_assert_eq(
      jd_git_export(&commit, NULL, state, url, "no-such-branch", dest, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert_null(commit);
  cr_assert(strstr(err, "no-such-branch"), "%s", err);
  cr_assert(strstr(err, "not found"), "%s", err);
  free(w);
  t_rmdir(tmp);
}

Test(source, git_bad_url_is_a_clear_error) {
  char *tmp = t_tmpdir("gitbad");
  char state[4200], dest[4200];
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(dest, sizeof dest, "%s/out", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  char err[512] = "";
  cr_assert_eq(jd_git_export(NULL, NULL, state, "file:///nonexistent/repo.git", "main", dest, &kind,
                             err, sizeof err),
               -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "/nonexistent/repo.git"), "%s", err);
  /* A failed first fetch leaves no half-made mirror behind. */
  char mirror[4300];
  jd_git_mirror_path(mirror, sizeof mirror, state, "file:///nonexistent/repo.git");
  cr_assert(!jd_path_exists(mirror), "mirror left behind");
  cr_assert_eq(
      jd_git_export(NULL, NULL, state, "/nonexistent/local", NULL, dest, &kind, err, sizeof err),
      -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "/nonexistent/local"), "%s", err);
  t_rmdir(tmp);
}

Test(source, git_local_repository_is_read_in_place_and_head_is_default) {
  char *tmp = t_tmpdir("gitlocal");
  char *w = make_repo(tmp);
  char bare[4200], dest[4200], cmd[4400];
  snprintf(bare, sizeof bare, "%s/bare.git", tmp);
  sh("git clone -q --bare %s %s", w, bare);
  snprintf(dest, sizeof dest, "%s/out", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  char err[512] = "";
  char *commit = NULL;
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .git_url = bare};
  jd_source *s = NULL;
  cr_assert_eq(jd_source_open(&s, tmp, &ref, &kind, err, sizeof err), 0, "%s", err);
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse main", w);
  char *head = sh_out(cmd);
  cr_assert_str_eq(s->commit, head);
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse main^{tree}", w);
  char *tree = sh_out(cmd);
  char want[100];
  snprintf(want, sizeof want, "git:%s", tree);
  cr_assert_str_eq(s->identity, want);
  /* Resolved, not written out: the Dockerfile comes from the tree. */
  cr_assert_null(s->dir);
  cr_assert_null(s->work_dir);
  char *df = NULL;
  cr_assert_eq(jd_source_dockerfile(&df, NULL, s, "run.Dockerfile", false, &kind, err, sizeof err),
               0, "%s", err);
  cr_assert_str_eq(df, "FROM scratch\n");
  free(df);
  cr_assert_eq(jd_source_dockerfile(&df, NULL, s, "build.Dockerfile", true, &kind, err, sizeof err),
               0);
  cr_assert_null(df);
  cr_assert_eq(jd_source_materialize(s, &kind, err, sizeof err), 0, "%s", err);
  char p[4300];
  snprintf(p, sizeof p, "%s/sub/data.txt", s->dir);
  cr_assert(jd_path_exists(p), "not exported: %s", p);
  char *work = strdup(s->work_dir);
  jd_source_free(s);
  cr_assert(!jd_path_exists(work), "work dir not removed");
  /* No mirror was made for a local repository. */
  char gitdir[4300];
  snprintf(gitdir, sizeof gitdir, "%s/git", tmp);
  cr_assert(!jd_path_exists(gitdir), "local repository mirrored");
  free(work);
  free(commit);
  free(head);
  free(tree);
  free(w);
  t_rmdir(tmp);
}

Test(source, git_commit_without_run_dockerfile_names_what_is_missing) {
  char *tmp = t_tmpdir("gitnodf");
  char w[4200], dest[4200];
  snprintf(w, sizeof w, "%s/w", tmp);
  sh("mkdir -p %s && cd %s && " GIT " init -q . && echo x > main.c && " GIT " add -A && " GIT
     " commit -qm x",
     w, w);
  snprintf(dest, sizeof dest, "%s/out", tmp);
  cr_assert_eq(mkdir(dest, 0755), 0);
  char err[512] = "";
  cr_assert_eq(jd_git_export(NULL, NULL, tmp, w, "main", dest, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert(strstr(err, "run.Dockerfile"), "%s", err);
  t_rmdir(tmp);
}

/* ---- tarballs over HTTP ------------------------------------------------------- */

typedef struct http_srv {
  int fd;
  int port;
  const void *body;
  size_t len;
  int status;
  pthread_t th;
} http_srv;

/* Serves one request with a fixed answer, then exits. */
static void *serve_one(void *ud) {
  http_srv *s = ud;
  int c = accept(s->fd, NULL, NULL);
  if (c < 0)
    return NULL;
  char req[4096];
  ssize_t n = read(c, req, sizeof req);
  (void)n;
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", s->status,
                    s->len);
  if (write(c, head, (size_t)hl) < 0 || (s->len && write(c, s->body, s->len) < 0))
    perror("write");
  close(c);
  return NULL;
}

static void srv_start(http_srv *s, const void *body, size_t len, int status) {
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(s->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  getsockname(s->fd, (struct sockaddr *)&a, &al);
  s->port = ntohs(a.sin_port);
  cr_assert_eq(listen(s->fd, 1), 0);
  s->body = body;
  s->len = len;
  s->status = status;
  pthread_create(&s->th, NULL, serve_one, s);
}

static void srv_stop(http_srv *s) {
  pthread_join(s->th, NULL);
  close(s->fd);
}

Test(source, tarball_with_a_top_directory_is_used_from_inside_it) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_dir(t, "prog-1.0", 0755));
  t_ok(dk_tar_add_file(t, "prog-1.0/run.Dockerfile", "FROM scratch\n", 13, 0644));
  t_ok(dk_tar_add_file(t, "prog-1.0/main.c", "int x;\n", 7, 0644));
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  http_srv srv;
  srv_start(&srv, data, len, 200);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/prog.tar", srv.port);
  char *tmp = t_tmpdir("tarsrc");
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .tar_url = url};
  jd_source *s = NULL;
  char err[512] = "";
  cr_assert_eq(jd_source_open(&s, tmp, &ref, &kind, err, sizeof err), 0, "%s", err);
  srv_stop(&srv);
  cr_assert(strstr(s->dir, "/prog-1.0"), "%s", s->dir);
  cr_assert(!strncmp(s->identity, "tree:", 5));
  jd_source_free(s);
  dk_tar_free(t);
  t_rmdir(tmp);
}

Test(source, tarball_escaping_its_directory_is_refused) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "run.Dockerfile", "FROM scratch\n", 13, 0644));
  t_ok(dk_tar_add_symlink(t, "evil", "../../../../etc"));
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  http_srv srv;
  srv_start(&srv, data, len, 200);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x.tar", srv.port);
  char *tmp = t_tmpdir("tarevil");
  char err[512] = "";
  cr_assert_eq(jd_tar_fetch(url, tmp, NULL, false, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  srv_stop(&srv);
  cr_assert(strstr(err, "evil"), "%s", err);
  dk_tar_free(t);
  t_rmdir(tmp);
}

Test(source, tarball_http_error_and_bad_scheme) {
  http_srv srv;
  srv_start(&srv, "nope", 4, 404);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/missing.tar", srv.port);
  char *tmp = t_tmpdir("tar404");
  char err[512] = "";
  cr_assert_eq(jd_tar_fetch(url, tmp, NULL, false, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  srv_stop(&srv);
  cr_assert(strstr(err, "404"), "%s", err);
  cr_assert_eq(jd_tar_fetch("ftp://example/x.tar", tmp, NULL, false, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_USAGE);
  cr_assert_eq(jd_tar_fetch("file:///etc/passwd", tmp, NULL, false, &kind, err, sizeof err), -1);
  cr_assert_eq(kind, JD_FAIL_USAGE);
  t_rmdir(tmp);
}

/* A tarball of a program whose tree is `levels` directories deep, under a
 * top directory as forges make them. */
static void deep_tarball(dk_tar *t, int levels) {
  t_ok(dk_tar_add_file(t, "prog/run.Dockerfile", "FROM scratch\n", 13, 0644));
  char *name = malloc(8 + 2 * (size_t)levels + 8);
  cr_assert(name);
  strcpy(name, "prog");
  for (int i = 0; i < levels; i++) {
    strcat(name, "/a");
    t_ok(dk_tar_add_dir(t, name, 0755));
  }
  strcat(name, "/leaf");
  t_ok(dk_tar_add_file(t, name, "x", 1, 0644));
  free(name);
}

Test(source, a_deep_tarball_is_the_programs_fault_and_leaves_nothing) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  deep_tarball(t, 600);
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  http_srv srv;
  srv_start(&srv, data, len, 200);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/deep.tar", srv.port);
  char *state = t_tmpdir("tardeep");
  jd_program_ref ref = {.domain = JD_DOMAIN_AI, .id = "x", .tar_url = url};
  jd_source *s = NULL;
  char err[1024] = "";
  cr_assert_eq(jd_source_open(&s, state, &ref, &kind, err, sizeof err), -1, "%s", err);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  srv_stop(&srv);
  cr_assert_null(s);
  cr_assert(strstr(err, "passes the caps on a source"), "%s", err);
  cr_assert(strstr(err, "66 directory levels deep passes the cap of 65 levels"), "%s", err);
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/work)\"", state);
  cr_assert_eq(system(cmd), 0, "the work directory was left behind");
  dk_tar_free(t);
  t_rmdir(state);
  /* 64 levels below the top directory are within the limit. */
  t_ok(dk_tar_new(&t, 0));
  deep_tarball(t, JD_SOURCE_MAX_DEPTH);
  t_ok(dk_tar_finish(t, &data, &len));
  srv_start(&srv, data, len, 200);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/ok.tar", srv.port);
  state = t_tmpdir("tardeepok");
  cr_assert_eq(jd_source_open(&s, state, &ref, &kind, err, sizeof err), 0, "%s", err);
  srv_stop(&srv);
  jd_source_free(s);
  dk_tar_free(t);
  t_rmdir(state);
}
