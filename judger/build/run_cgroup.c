/* A parent cgroup with pids.max for one build's RUN steps (run_cgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build/run_cgroup.h"
#include "common/clock.h"

/* The pid of the process serving the engine's unix socket, as this
 * process's pid namespace numbers it: > 0, or -1 with a reason. */
static pid_t engine_pid(dk_client *c, char *err, size_t errlen) {
  dk_host_url u;
  const char *host = dk_client_host(c);
  if (!host || dk_host_url_parse(&u, host, dk_client_tls(c)) != 0 || strcmp(u.scheme, "unix")) {
    snprintf(err, errlen, "the engine is not reached by a unix socket (%s)", host ? host : "?");
    return -1;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(u.path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "the engine's socket path is too long");
    return -1;
  }
  memcpy(sa.sun_path, u.path, strlen(u.path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct ucred cred = {0};
  socklen_t len = sizeof cred;
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    snprintf(err, errlen, "cannot ask %s who serves it: %s", u.path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  if (cred.pid <= 0) {
    snprintf(err, errlen, "the engine's process is outside the judger's pid namespace");
    return -1;
  }
  return cred.pid;
}

/* The engine's /sys/fs/cgroup, each component opened without following a
 * link (the engine's root is its own mount namespace's). */
static int open_engine_cgroupfs(pid_t pid, char *err, size_t errlen) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/%d/root", (int)pid);
  int fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  static const char *const parts[] = {"sys", "fs", "cgroup"};
  for (size_t i = 0; fd >= 0 && i < 3; i++) {
    int next =
        openat(fd, parts[i], (i == 2 ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    fd = next;
  }
  if (fd < 0)
    snprintf(err, errlen, "cannot open the engine's /sys/fs/cgroup (%s): %s", proc,
             strerror(errno));
  return fd;
}

static int read_small(int dirfd, const char *name, char *buf, size_t n) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t got = read(fd, buf, n - 1);
  close(fd);
  if (got < 0)
    return -1;
  buf[got] = '\0';
  return 0;
}

static int write_small(int dirfd, const char *name, const char *text) {
  int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t n = strlen(text);
  ssize_t put = write(fd, text, n);
  int saved = errno;
  close(fd);
  errno = saved;
  return put == (ssize_t)n ? 0 : -1;
}

static bool has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)); p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
      return true;
  return false;
}

/* The hierarchy holding the pids controller: cgroup v1's "pids", or the
 * unified root of cgroup v2 when its children may use pids. */
static int open_pids_hierarchy(int root, char *err, size_t errlen) {
  int fd = openat(root, "pids", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0)
      snprintf(err, errlen, "cannot open the engine's pids hierarchy: %s", strerror(errno));
    return fd;
  }
  char ctl[512];
  if (read_small(root, "cgroup.subtree_control", ctl, sizeof ctl) != 0 || !has_word(ctl, "pids")) {
    snprintf(err, errlen, "the engine's cgroups have no pids controller for its containers");
    return -1;
  }
  return fcntl(root, F_DUPFD_CLOEXEC, 0);
}

/* Removes the parent from every hierarchy it is in (v1: one per
 * controller, made by the engine's runc; v2: the root itself). 0 when it
 * is gone from all of them, -1 when one still holds a child. */
static int remove_everywhere(int root, const char *name) {
  int dup = fcntl(root, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
  if (!d) {
    if (dup >= 0)
      close(dup);
    return 0; /* nothing more can be done */
  }
  int busy = 0;
  if (unlinkat(root, name, AT_REMOVEDIR) != 0 && errno == EBUSY)
    busy = -1;
  rewinddir(d);
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.' || e->d_type != DT_DIR)
      continue; /* "cpu" -> "cpu,cpuacct" links name a hierarchy twice */
    int h = openat(root, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (h < 0)
      continue;
    if (unlinkat(h, name, AT_REMOVEDIR) != 0 && errno == EBUSY)
      busy = -1;
    close(h);
  }
  closedir(d);
  return busy;
}

/* Parents left by a judger that died during a build (a parent is removed
 * when its build ends): older than a day and holding no process. A live
 * build's parent is younger than any build's wall time. */
#define STALE_S (24 * 3600)

static void sweep_stale(int root, int hier) {
  int dup = fcntl(hier, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
  if (!d) {
    if (dup >= 0)
      close(dup);
    return;
  }
  time_t now = time(NULL);
  for (struct dirent *e; (e = readdir(d));) {
    struct stat st;
    char cur[32];
    if (strncmp(e->d_name, JD_RUN_CGROUP_PREFIX, strlen(JD_RUN_CGROUP_PREFIX)) ||
        fstatat(hier, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
        now - st.st_mtime < STALE_S)
      continue;
    int fd = openat(hier, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    bool empty = fd >= 0 && read_small(fd, "pids.current", cur, sizeof cur) == 0 && atoll(cur) == 0;
    if (fd >= 0)
      close(fd);
    if (empty)
      (void)remove_everywhere(root, e->d_name);
  }
  closedir(d);
}

static void make_name(char *out, size_t n) {
  static atomic_uint counter;
  unsigned r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
    r = (unsigned)jd_mono_ms();
  snprintf(out, n, JD_RUN_CGROUP_PREFIX "%d-%u-%08x", (int)getpid(),
           atomic_fetch_add(&counter, 1) + 1, r);
}

int jd_run_cgroup_create(jd_run_cgroup **out, dk_client *c, int64_t pids, char *err,
                         size_t errlen) {
  *out = NULL;
  pid_t pid = engine_pid(c, err, errlen);
  if (pid < 0)
    return -1;
  dk_info *info = NULL;
  if (dk_system_info(&info, c) != 0) {
    snprintf(err, errlen, "cannot read the engine's cgroup driver: %s",
             dk_error_last() ? dk_error_last()->message : "?");
    return -1;
  }
  bool cgroupfs = !info->cgroup_driver || !strcmp(info->cgroup_driver, "cgroupfs");
  if (!cgroupfs)
    snprintf(err, errlen, "the engine's cgroup driver is %s (a parent must be a systemd slice)",
             info->cgroup_driver);
  dk_info_free(info);
  if (!cgroupfs)
    return -1;
  jd_run_cgroup *cg = calloc(1, sizeof *cg);
  if (!cg) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  cg->dir_fd = -1;
  int hier = -1;
  cg->root_fd = open_engine_cgroupfs(pid, err, errlen);
  if (cg->root_fd < 0)
    goto fail;
  hier = open_pids_hierarchy(cg->root_fd, err, errlen);
  if (hier < 0)
    goto fail;
  sweep_stale(cg->root_fd, hier);
  make_name(cg->name, sizeof cg->name);
  snprintf(cg->parent, sizeof cg->parent, "/%s", cg->name);
  if (mkdirat(hier, cg->name, 0755) != 0) {
    snprintf(err, errlen, "cannot make the cgroup %s: %s", cg->parent, strerror(errno));
    goto fail;
  }
  char max[32];
  snprintf(max, sizeof max, "%lld", (long long)pids);
  cg->dir_fd = openat(hier, cg->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cg->dir_fd < 0 || write_small(cg->dir_fd, "pids.max", max) != 0) {
    snprintf(err, errlen, "cannot set pids.max of %s: %s", cg->parent, strerror(errno));
    unlinkat(hier, cg->name, AT_REMOVEDIR);
    goto fail;
  }
  close(hier);
  *out = cg;
  return 0;
fail:
  if (hier >= 0)
    close(hier);
  if (cg->dir_fd >= 0)
    close(cg->dir_fd);
  if (cg->root_fd >= 0)
    close(cg->root_fd);
  free(cg);
  return -1;
}

int64_t jd_run_cgroup_peak(const jd_run_cgroup *cg) {
  char buf[32];
  if (!cg || read_small(cg->dir_fd, "pids.peak", buf, sizeof buf) != 0)
    return -1;
  return strtoll(buf, NULL, 10);
}

void jd_run_cgroup_free(jd_run_cgroup *cg, int wait_ms) {
  if (!cg)
    return;
  if (cg->dir_fd >= 0)
    close(cg->dir_fd);
  int64_t deadline = jd_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
  while (remove_everywhere(cg->root_fd, cg->name) != 0 && jd_mono_ms() < deadline) {
    struct timespec ts = {0, 20 * 1000 * 1000}; /* the engine removing a step's container */
    nanosleep(&ts, NULL);
  }
  close(cg->root_fd);
  free(cg);
}
