/* Syscall probe for the seccomp tests (built static by the test): tries
 * each call a sandbox must not make, and a few every program needs, and
 * prints "<case>:OK" or "<case>:<errno name>" (a case run in a child that
 * dies prints "<case>:SIG<n>"), then how much of 1 MiB fits into /dev/shm.
 * Raw syscall numbers where glibc 2.36's headers lack the name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_MEMFD_SECRET 447
#define NR_LISTMOUNT 458 /* Linux 6.8: newer than the profile's list */
#define X32_SYSCALL_BIT 0x40000000L

static const char *errno_name(int e) {
  switch (e) {
  case EPERM:
    return "EPERM";
  case ENOSYS:
    return "ENOSYS";
  case EAFNOSUPPORT:
    return "EAFNOSUPPORT";
  case EINVAL:
    return "EINVAL";
  case EFAULT:
    return "EFAULT";
  case EOPNOTSUPP:
    return "EOPNOTSUPP";
  case EPROTONOSUPPORT:
    return "EPROTONOSUPPORT";
  case ESOCKTNOSUPPORT:
    return "ESOCKTNOSUPPORT";
  default:
    return strerror(e);
  }
}

static void report(const char *name, long rc) {
  if (rc >= 0)
    printf("%s:OK\n", name);
  else
    printf("%s:%s\n", name, errno_name(errno));
}

static void socket_case(const char *name, int family, int type, int protocol) {
  int fd = socket(family, type, protocol);
  report(name, fd);
  if (fd >= 0)
    close(fd);
}

static void *thread_main(void *arg) { return arg; }

/* A call that may kill its caller (a foreign ABI): made in a child. */
static long i386_getpid(void) {
  long rc;
  __asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory"); /* i386 getpid */
  return rc;
}
static long x32_getpid(void) { return syscall(X32_SYSCALL_BIT | SYS_getpid); }
static void child_case(const char *name, long (*call)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    long rc = call();
    if (rc < 0 && rc > -4096) { /* a raw int 0x80 gives -errno */
      errno = (int)-rc;
      rc = -1;
    }
    report(name, rc);
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0)
    report(name, -1);
  else if (WIFSIGNALED(status))
    printf("%s:SIG%d\n", name, WTERMSIG(status));
}

int main(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  report("io_uring_setup", syscall(SYS_io_uring_setup, 4, &p));
  report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 1));
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a));
  report("unshare", unshare(CLONE_NEWUSER));
  report("userfaultfd", syscall(SYS_userfaultfd, 0));
  report("vsock", socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));

  /* Refused by the allow list (Docker's default allows some of them). */
  static char ldt[64];
  report("modify_ldt", syscall(SYS_modify_ldt, 0 /* read */, ldt, sizeof ldt));
  report("personality_exec", syscall(SYS_personality, PER_LINUX32 | READ_IMPLIES_EXEC));
  report("memfd_secret", syscall(NR_MEMFD_SECRET, 0));
  report("listmount", syscall(NR_LISTMOUNT, NULL, NULL, 0, 0));
  fflush(stdout);
  long cl = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
  if (cl == 0)
    _exit(0);
  if (cl > 0)
    waitpid((pid_t)cl, NULL, 0);
  report("clone_newuser", cl);
  report("clone3", syscall(SYS_clone3, NULL, 0));
  socket_case("socket_packet", 17 /* AF_PACKET */, SOCK_DGRAM, 0);
  socket_case("socket_alg", 38 /* AF_ALG */, SOCK_SEQPACKET, 0);
  socket_case("socket_key", 15 /* AF_KEY */, SOCK_RAW, 2 /* PF_KEY_V2 */);
  socket_case("socket_bluetooth", 31 /* AF_BLUETOOTH */, SOCK_STREAM, 0);
  int pair[2];
  report("socketpair_inet", socketpair(AF_INET, SOCK_STREAM, 0, pair));
  child_case("i386", i386_getpid);
  child_case("x32", x32_getpid);

  /* Still allowed: what runtimes need. */
  report("personality_query", syscall(SYS_personality, 0xffffffffUL));
  socket_case("socket_unix", AF_UNIX, SOCK_STREAM, 0);
  socket_case("socket_inet", AF_INET, SOCK_DGRAM, 0);
  socket_case("socket_inet6", AF_INET6, SOCK_DGRAM, 0);
  socket_case("socket_netlink", AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
  int rc = socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
  report("socketpair_unix", rc);
  if (rc == 0) {
    close(pair[0]);
    close(pair[1]);
  }
  pthread_t t;
  int terr = pthread_create(&t, NULL, thread_main, NULL);
  if (terr == 0)
    pthread_join(t, NULL);
  errno = terr;
  report("thread", terr == 0 ? 0 : -1);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0)
    _exit(0);
  report("fork", child < 0 ? -1 : waitpid(child, NULL, 0));
  report("getpid", getpid());

  int fd = open("/dev/shm/fill", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  static char buf[1 << 20];
  ssize_t n = fd < 0 ? -1 : write(fd, buf, sizeof buf);
  printf("shm:%zd\n", n);
  fflush(stdout);
  return 0;
}
