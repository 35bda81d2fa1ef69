/* judger-hold: PID 1 of a game-logic container (see match/hold.h), and
 * the shim of a warm player.
 *
 *   judger-hold CMD [ARG...]
 *   judger-hold --warm CMD [ARG...]
 *
 * Built static (it runs in any image) and kept to libc. It runs as the
 * game's user: the game could open the FIFO too, which only spoils its own
 * outputs; it cannot kill judger-hold (PID 1 of the container's namespace
 * gets no signal from inside it without a handler, and its one handler
 * ignores senders inside the namespace). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "match/hold.h"
#include "match/hold/hold_build.h"

static volatile sig_atomic_t stop_asked;
static volatile sig_atomic_t game_pid; /* 0 until the game runs */

/* SIGUSR2 from outside the container (si_pid 0: the sender's pid does not
 * exist in this namespace) is the judger's stop. The kill is made here, in
 * the handler (kill is async-signal-safe): a flag alone could arrive between
 * wait_game's check and its waitpid, and the one stop would be lost. */
static void on_usr2(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  if (si->si_pid != 0)
    return;
  stop_asked = 1;
  if (game_pid > 0)
    kill(getpid() == 1 ? -1 : (pid_t)game_pid, SIGKILL);
}

/* ---- the tar stream (ustar, with a pax header for long names) ---------- */

static int out_fd = -1;
static char path[JD_OUT_DEPTH_MAX * 256 + 2];

static int put(const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(out_fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int pad(uint64_t n) {
  static const char zeros[512];
  size_t r = (size_t)(n % 512);
  return r ? put(zeros, 512 - r) : 0;
}

static void octal(char *field, size_t width, uint64_t v) {
  snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

/* link: a link's target for the linkname field (cut at its 100 bytes; a
 * pax linkpath carries it whole), or NULL. */
static int header_link(const char *name, char type, uint64_t size, int mode, const char *link) {
  char h[512];
  memset(h, 0, sizeof h);
  snprintf(h, 100, "%s", name);
  if (link)
    memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
  octal(h + 100, 8, (uint64_t)mode & 07777);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size < 077777777777ULL ? size : 0);
  octal(h + 136, 12, 0);
  h[156] = type;
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof h; i++)
    sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  return put(h, sizeof h);
}

static int header(const char *name, char type, uint64_t size, int mode) {
  return header_link(name, type, size, mode, NULL);
}

/* One pax record "LEN key=value\n", LEN counting itself. */
static int pax_record(char *buf, size_t cap, size_t *len, const char *kv) {
  size_t body = strlen(kv) + 2, n = body + 1;
  while (snprintf(NULL, 0, "%zu", n) + body != n)
    n++;
  if (*len + n >= cap)
    return -1;
  *len += (size_t)snprintf(buf + *len, cap - *len, "%zu %s\n", n, kv);
  return 0;
}

static int entry(const char *name, char type, uint64_t size, int mode) {
  if (strlen(name) >= 100 || size >= 077777777777ULL) {
    static char pax[sizeof path + 128];
    static char kv[sizeof path + 16];
    size_t len = 0;
    if (strlen(name) >= 100) {
      snprintf(kv, sizeof kv, "path=%s", name);
      if (pax_record(pax, sizeof pax, &len, kv))
        return -1;
    }
    if (size >= 077777777777ULL) {
      snprintf(kv, sizeof kv, "size=%llu", (unsigned long long)size);
      if (pax_record(pax, sizeof pax, &len, kv))
        return -1;
    }
    if (header("pax", 'x', len, 0644) || put(pax, len) || pad(len))
      return -1;
  }
  return header(name, type, size, mode);
}

/* Copies exactly size bytes of fd (zeros if it came up short). */
static int file_data(int fd, uint64_t size) {
  char buf[65536];
  uint64_t left = size;
  while (left) {
    ssize_t n = read(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      memset(buf, 0, sizeof buf);
      n = (ssize_t)(left < sizeof buf ? left : sizeof buf);
    }
    if (put(buf, (size_t)n))
      return -1;
    left -= (uint64_t)n;
  }
  return pad(size);
}

/* Writes the entries of dirfd (path holds its name, len bytes, "" at the
 * root; its entries are depth + 1 levels deep). Only directories and
 * regular files; never follows a link; nothing deeper than the cap. */
static int walk(int dirfd, size_t len, int depth) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return 0;
  }
  int rc = 0;
  struct dirent *de;
  while (!rc && (de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    size_t n = strlen(de->d_name);
    struct stat st;
    if (len + n + 2 >= sizeof path || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
      continue;
    memcpy(path + len, de->d_name, n);
    path[len + n] = 0;
    if (S_ISDIR(st.st_mode) && depth + 1 < JD_OUT_DEPTH_MAX) {
      path[len + n] = '/';
      path[len + n + 1] = 0;
      rc = entry(path, '5', 0, st.st_mode);
      int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (!rc && fd >= 0)
        rc = walk(fd, len + n + 1, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      int fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode))
        rc = entry(path, '0', (uint64_t)st.st_size, st.st_mode) ||
             file_data(fd, (uint64_t)st.st_size);
      if (fd >= 0)
        close(fd);
    }
    path[len] = 0;
  }
  closedir(d);
  return rc;
}

static void write_outputs(void) {
  out_fd = open(JD_HOLD_FIFO, O_WRONLY | O_CLOEXEC);
  if (out_fd < 0)
    return;
  int dirfd = open(JD_HOLD_OUT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  path[0] = 0;
  int rc = dirfd >= 0 ? walk(dirfd, 0, 0) : 0;
  static const char end[1024];
  if (!rc)
    put(end, sizeof end);
  close(out_fd);
}

/* ---- running the game -------------------------------------------------- */

static pid_t run(char **argv) {
  pid_t pid = fork();
  if (pid)
    return pid;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGUSR2, SIG_DFL);
  execvp(argv[0], argv);
  int e = errno;
  dprintf(2, "judger-hold: cannot run %s: %s\n", argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* Waits for the game (pid); on the judger's stop, kills it. Returns its
 * exit code as a shell gives it. */
static int wait_game(pid_t pid) {
  for (;;) {
    if (stop_asked)
      kill(getpid() == 1 ? -1 : pid, SIGKILL);
    int st;
    pid_t w = waitpid(-1, &st, 0);
    if (w == pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (w < 0 && errno == ECHILD)
      return 127;
  }
}

/* ---- a program build (see match/hold/hold_build.h) ---------------------- */

#ifndef SEEK_DATA /* Linux's values, without _GNU_SOURCE */
#define SEEK_DATA 3
#define SEEK_HOLE 4
#endif

static char bpath[(JD_BUILD_DEPTH_MAX + 1) * 256 + 2];
static int bdepth; /* directories deeper than this are listed, not entered */

/* Opens name under dirfd. Everything under /app is the build's own (its
 * user is the shim's): a file or directory it made unreadable gets its
 * owner's read (and search) bits back once. */
static int open_own(int dirfd, const char *name, int flags, const struct stat *st) {
  flags |= O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  mode_t need = S_ISDIR(st->st_mode) ? 0500 : 0400;
  int fd = openat(dirfd, name, flags);
  if (fd < 0 && errno == EACCES && !fchmodat(dirfd, name, (st->st_mode & 07777) | need, 0))
    fd = openat(dirfd, name, flags);
  /* A directory readable but not searchable would list names it cannot stat. */
  if (fd >= 0 && (st->st_mode & need) != need)
    (void)fchmod(fd, (st->st_mode & 07777) | need);
  return fd;
}

/* One entry of the build's stream: a pax header carries a long name, a
 * link's target or a large size. */
static int bentry(const char *name, char type, uint64_t size, int mode, const char *link) {
  static char pax[sizeof bpath + 8192];
  static char kv[sizeof bpath + 16];
  size_t len = 0;
  if (strlen(name) >= 100) {
    snprintf(kv, sizeof kv, "path=%s", name);
    if (pax_record(pax, sizeof pax, &len, kv))
      return -1;
  }
  if (link && strlen(link) >= 100) {
    snprintf(kv, sizeof kv, "linkpath=%s", link);
    if (pax_record(pax, sizeof pax, &len, kv))
      return -1;
  }
  if (size >= 077777777777ULL) {
    snprintf(kv, sizeof kv, "size=%llu", (unsigned long long)size);
    if (pax_record(pax, sizeof pax, &len, kv))
      return -1;
  }
  if (len && (header("pax", 'x', len, 0644) || put(pax, len) || pad(len)))
    return -1;
  /* The linkname field too: libarchive reads a symbolic link whose field
   * is empty as having no target, pax linkpath or not. */
  return header_link(name, type, size, mode, link);
}

/* Writes the entries of dirfd (bpath holds its name, len bytes, "" for
 * /app; its entries are depth levels deep). The recursion is capped: a
 * directory deeper than bdepth is listed, never entered. */
static int bwalk(int dirfd, size_t len, int depth) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return 0;
  }
  static char target[4097];
  int rc = 0;
  struct dirent *de;
  while (!rc && (de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    size_t n = strlen(de->d_name);
    struct stat st;
    if (len + n + 2 >= sizeof bpath || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
      continue;
    memcpy(bpath + len, de->d_name, n);
    bpath[len + n] = 0;
    if (S_ISDIR(st.st_mode)) {
      bpath[len + n] = '/';
      bpath[len + n + 1] = 0;
      rc = bentry(bpath, '5', 0, st.st_mode, NULL);
      int fd =
          !rc && depth <= bdepth ? open_own(dirfd, de->d_name, O_RDONLY | O_DIRECTORY, &st) : -1;
      if (fd >= 0)
        rc = bwalk(fd, len + n + 1, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      int fd = open_own(dirfd, de->d_name, O_RDONLY, &st);
      if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode))
        rc = bentry(bpath, '0', (uint64_t)st.st_size, st.st_mode, NULL) ||
             file_data(fd, (uint64_t)st.st_size);
      if (fd >= 0)
        close(fd);
    } else if (S_ISLNK(st.st_mode)) {
      ssize_t t = readlinkat(dirfd, de->d_name, target, sizeof target - 1);
      if (t > 0 && (size_t)t < sizeof target - 1) {
        target[t] = 0;
        rc = bentry(bpath, '2', 0, 0777, target);
      }
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      /* Listed so that the judger can say it removed them. */
      rc = bentry(bpath,
                  S_ISFIFO(st.st_mode)  ? '6'
                  : S_ISCHR(st.st_mode) ? '3'
                                        : '4',
                  0, st.st_mode, NULL);
    }
    bpath[len] = 0;
  }
  closedir(d);
  return rc;
}

/* Copies the regular file name of sdir into ddir; holes stay holes (the
 * tmpfs has them too), so a sparse source costs the build no memory. */
static int copy_file(int sdir, int ddir, const char *name, const struct stat *st) {
  int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  int out =
      in < 0 ? -1 : openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc = in < 0 || out < 0 ? -1 : 0;
  static char buf[65536];
  off_t pos = 0, end = st->st_size;
  while (!rc && pos < end) {
    off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; /* only a hole left */
    if (data < 0)
      data = pos; /* no SEEK_DATA here: all of it is data */
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0 || hole > end)
      hole = end;
    if (lseek(in, data, SEEK_SET) < 0 || lseek(out, data, SEEK_SET) < 0)
      rc = -1;
    for (pos = data; !rc && pos < hole;) {
      ssize_t r = read(in, buf, hole - pos < (off_t)sizeof buf ? (size_t)(hole - pos) : sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) {
        pos = end; /* it came up short: the rest is a hole */
        break;
      }
      for (ssize_t w = 0; !rc && w < r;) {
        ssize_t k = write(out, buf + w, (size_t)(r - w));
        if (k < 0 && errno != EINTR)
          rc = -1;
        else if (k > 0)
          w += k;
      }
      pos += r;
    }
  }
  if (!rc && (ftruncate(out, end) || fchmod(out, st->st_mode & 0777)))
    rc = -1;
  int saved = errno;
  if (in >= 0)
    close(in);
  if (out >= 0)
    close(out);
  errno = saved;
  return rc;
}

/* Copies the tree of sfd into dfd (both consumed); depth-capped before it
 * descends (the judger's copy of the source was capped already). */
static int copy_in(int sfd, int dfd, int depth) {
  DIR *d = fdopendir(sfd);
  if (!d) {
    close(sfd);
    close(dfd);
    return -1;
  }
  static char target[4097];
  int rc = 0;
  struct dirent *de;
  while (!rc && (de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    struct stat st;
    if (!strcmp(name, ".") || !strcmp(name, "..") || fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW))
      continue;
    if (S_ISDIR(st.st_mode) && depth < JD_BUILD_DEPTH_MAX) {
      int s = -1, t = -1;
      rc = mkdirat(dfd, name, 0700);
      if (!rc && (s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        rc = -1;
      if (!rc && (t = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        rc = -1;
      if (!rc && fchmod(t, 0700))
        rc = -1;
      if (!rc) {
        int keep = dup(t);
        rc = keep < 0 ? -1 : copy_in(s, t, depth + 1);
        if (!rc && fchmod(keep, st.st_mode & 0777))
          rc = -1;
        if (keep >= 0)
          close(keep);
      } else {
        if (s >= 0)
          close(s);
        if (t >= 0)
          close(t);
      }
    } else if (S_ISREG(st.st_mode)) {
      rc = copy_file(sfd, dfd, name, &st);
    } else if (S_ISLNK(st.st_mode)) {
      ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);
      if (n > 0 && (size_t)n < sizeof target - 1) {
        target[n] = 0;
        rc = symlinkat(target, dfd, name);
      }
    }
  }
  int saved = errno;
  closedir(d);
  close(dfd);
  errno = saved;
  return rc;
}

static int build(char **argv) {
  char *end = NULL;
  long depth = strtol(argv[0], &end, 10);
  bdepth = !end || *end || depth < 1    ? 1
           : depth > JD_BUILD_DEPTH_MAX ? JD_BUILD_DEPTH_MAX
                                        : (int)depth;
  signal(SIGPIPE, SIG_IGN);
  out_fd = open(JD_BUILD_FIFO, O_WRONLY | O_CLOEXEC);
  if (out_fd < 0) {
    dprintf(2, "judger-hold: %s: %s\n", JD_BUILD_FIFO, strerror(errno));
    return 126;
  }
  int app = open(JD_BUILD_APP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int src = open(JD_BUILD_SRC, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int app2 = app < 0 ? -1 : dup(app);
  if (app < 0 || src < 0 || app2 < 0 || copy_in(src, app2, 1)) {
    dprintf(2, "judger-hold: the source could not be copied into %s: %s\n", JD_BUILD_APP,
            strerror(errno));
    return 126;
  }
  pid_t pid = run(argv + 1);
  int code = pid < 0 ? 126 : wait_game(pid);
  /* Nothing of the build runs on while /app is read. */
  if (getpid() == 1)
    kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
    ;
  if (code == 0) {
    static const char zeros[1024];
    bpath[0] = 0;
    (void)fchmod(app, 0755); /* /app itself is the build's too */
    if (!bwalk(app, 0, 1))
      put(zeros, sizeof zeros);
  } else {
    close(app);
  }
  close(out_fd);
  return code;
}

/* ---- a warm player ------------------------------------------------------ */

/* Reads the go message from JD_WARM_FIFO (NUL-terminated "KEY=VALUE"
 * strings, then an empty one), puts them into the environment and execs
 * the player's command: nothing of the player runs before the judger's go.
 * The judger holds the FIFO open read+write, so the open never blocks and
 * a read sees no EOF before the go. */
static int warm(char **argv) {
  static char msg[JD_WARM_MSG_MAX + 2];
  size_t len = 0;
  int fd = open(JD_WARM_FIFO, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    dprintf(2, "judger-hold: %s: %s\n", JD_WARM_FIFO, strerror(errno));
    return 126;
  }
  /* Complete when the message ends in an empty string: "...\0\0" (or is
   * just "\0"). */
  while (!(len == 1 && msg[0] == 0) && !(len >= 2 && !msg[len - 1] && !msg[len - 2])) {
    ssize_t n = read(fd, msg + len, JD_WARM_MSG_MAX - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      dprintf(2, "judger-hold: no go message\n");
      return 126;
    }
    len += (size_t)n;
  }
  close(fd);
  for (char *p = msg; *p; p += strlen(p) + 1)
    if (strchr(p, '=') && putenv(p)) {
      dprintf(2, "judger-hold: environment: %s\n", strerror(errno));
      return 126;
    }
  execvp(argv[0], argv);
  int e = errno;
  dprintf(2, "judger-hold: cannot run %s: %s\n", argv[0], strerror(e));
  return e == ENOENT ? 127 : 126;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--warm"))
    return warm(argv + 2);
  if (argc >= 4 && !strcmp(argv[1], "--build"))
    return build(argv + 2);
  if (argc < 2) {
    dprintf(2, "judger-hold: no command\n");
    return 127;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr2;
  sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: waitpid returns on a stop */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
  pid_t pid = run(argv + 1);
  game_pid = pid > 0 ? pid : 0;
  int code = pid < 0 ? 126 : wait_game(pid);
  /* Whatever the game left running stops writing before the copy (only as
   * PID 1: kill(-1) elsewhere would reach every process of the user). */
  if (getpid() == 1)
    kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
    ;
  write_outputs();
  return code;
}
