/* Syscall probe for the seccomp tests (built static by the test): tries
 * each call a sandbox must not make and prints "<call>:OK" or
 * "<call>:<errno name>", then how much of 1 MiB fits into /dev/shm. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long rc) {
  if (rc >= 0)
    printf("%s:OK\n", name);
  else
    printf("%s:%s\n", name, errno == EPERM ? "EPERM" : errno == ENOSYS ? "ENOSYS" : strerror(errno));
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
  report("getpid", getpid());
  int fd = open("/dev/shm/fill", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  static char buf[1 << 20];
  ssize_t n = fd < 0 ? -1 : write(fd, buf, sizeof buf);
  printf("shm:%zd\n", n);
  fflush(stdout);
  return 0;
}
