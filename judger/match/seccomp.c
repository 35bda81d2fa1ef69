/* The judger's seccomp profile (see seccomp.h): two tables, one JSON
 * string, built once. docs/security.md says what is refused; keep it in
 * step. tests/judger/match/seccomp.c checks the structure,
 * tests/judger/match/match_seccomp.c the calls in a player.
 *
 * Where the names come from: Docker's default profile (moby
 * profiles/seccomp/default.json, engines 20.10 to 26.1), the calls it allows
 * to every container whatever its capabilities, plus arch_prctl (allowed on
 * amd64), with
 *   - the i386/x32-only names left out (chown32, _llseek, *_time64,
 *     socketcall, ipc, ...): only the x86-64 ABI is in the profile;
 *   - what the judger refuses on top of Docker left out: io_uring_enter,
 *     io_uring_register, io_uring_setup (a large kernel surface with a
 *     history of escapes; Docker 25 and later refuse it too), clock_adjtime
 *     (nothing in a match needs the clock's state), name_to_handle_at (the
 *     first half of open_by_handle_at), memfd_secret (memory taken out of
 *     the kernel's own map);
 *   - socket, socketpair and personality moved to JD_SECCOMP_ARG0 below;
 *   - the calls Docker allows only with a capability (the judger drops them
 *     all: mount, setns, unshare, ptrace, bpf, perf_event_open, kcmp,
 *     process_vm_*, chroot, reboot, modules, clocks, ...), modify_ldt (Docker
 *     allows it on x86 only: 16-bit segments are an old kernel attack
 *     surface and no runtime of ours uses them) and those Docker never
 *     allows (keyctl, add_key, request_key, userfaultfd, ...) are absent.
 * Anything absent is refused: EPERM, or ENOSYS past the highest number the
 * profile names (runc's stub, as for a call the kernel does not know, so
 * libc's fallbacks for newer calls work). */
#include "match/seccomp.h"

#include <pthread.h>
#include <string.h>

/* Allowed whatever their arguments. */
#define JD_SECCOMP_ALLOWED(X)                                                                      \
  X(accept)                                                                                        \
  X(accept4)                                                                                       \
  X(access)                                                                                        \
  X(adjtimex)                                                                                      \
  X(alarm)                                                                                         \
  X(arch_prctl)                                                                                    \
  X(bind)                                                                                          \
  X(brk)                                                                                           \
  X(capget)                                                                                        \
  X(capset)                                                                                        \
  X(chdir)                                                                                         \
  X(chmod)                                                                                         \
  X(chown)                                                                                         \
  X(clock_getres)                                                                                  \
  X(clock_gettime)                                                                                 \
  X(clock_nanosleep)                                                                               \
  X(close)                                                                                         \
  X(close_range)                                                                                   \
  X(connect)                                                                                       \
  X(copy_file_range)                                                                               \
  X(creat)                                                                                         \
  X(dup)                                                                                           \
  X(dup2)                                                                                          \
  X(dup3)                                                                                          \
  X(epoll_create)                                                                                  \
  X(epoll_create1)                                                                                 \
  X(epoll_ctl)                                                                                     \
  X(epoll_ctl_old)                                                                                 \
  X(epoll_pwait)                                                                                   \
  X(epoll_pwait2)                                                                                  \
  X(epoll_wait)                                                                                    \
  X(epoll_wait_old)                                                                                \
  X(eventfd)                                                                                       \
  X(eventfd2)                                                                                      \
  X(execve)                                                                                        \
  X(execveat)                                                                                      \
  X(exit)                                                                                          \
  X(exit_group)                                                                                    \
  X(faccessat)                                                                                     \
  X(faccessat2)                                                                                    \
  X(fadvise64)                                                                                     \
  X(fallocate)                                                                                     \
  X(fanotify_mark)                                                                                 \
  X(fchdir)                                                                                        \
  X(fchmod)                                                                                        \
  X(fchmodat)                                                                                      \
  X(fchown)                                                                                        \
  X(fchownat)                                                                                      \
  X(fcntl)                                                                                         \
  X(fdatasync)                                                                                     \
  X(fgetxattr)                                                                                     \
  X(flistxattr)                                                                                    \
  X(flock)                                                                                         \
  X(fork)                                                                                          \
  X(fremovexattr)                                                                                  \
  X(fsetxattr)                                                                                     \
  X(fstat)                                                                                         \
  X(fstatfs)                                                                                       \
  X(fsync)                                                                                         \
  X(ftruncate)                                                                                     \
  X(futex)                                                                                         \
  X(futex_waitv)                                                                                   \
  X(futimesat)                                                                                     \
  X(get_robust_list)                                                                               \
  X(get_thread_area)                                                                               \
  X(getcpu)                                                                                        \
  X(getcwd)                                                                                        \
  X(getdents)                                                                                      \
  X(getdents64)                                                                                    \
  X(getegid)                                                                                       \
  X(geteuid)                                                                                       \
  X(getgid)                                                                                        \
  X(getgroups)                                                                                     \
  X(getitimer)                                                                                     \
  X(getpeername)                                                                                   \
  X(getpgid)                                                                                       \
  X(getpgrp)                                                                                       \
  X(getpid)                                                                                        \
  X(getppid)                                                                                       \
  X(getpriority)                                                                                   \
  X(getrandom)                                                                                     \
  X(getresgid)                                                                                     \
  X(getresuid)                                                                                     \
  X(getrlimit)                                                                                     \
  X(getrusage)                                                                                     \
  X(getsid)                                                                                        \
  X(getsockname)                                                                                   \
  X(getsockopt)                                                                                    \
  X(gettid)                                                                                        \
  X(gettimeofday)                                                                                  \
  X(getuid)                                                                                        \
  X(getxattr)                                                                                      \
  X(inotify_add_watch)                                                                             \
  X(inotify_init)                                                                                  \
  X(inotify_init1)                                                                                 \
  X(inotify_rm_watch)                                                                              \
  X(io_cancel)                                                                                     \
  X(io_destroy)                                                                                    \
  X(io_getevents)                                                                                  \
  X(io_pgetevents)                                                                                 \
  X(io_setup)                                                                                      \
  X(io_submit)                                                                                     \
  X(ioctl)                                                                                         \
  X(ioprio_get)                                                                                    \
  X(ioprio_set)                                                                                    \
  X(kill)                                                                                          \
  X(landlock_add_rule)                                                                             \
  X(landlock_create_ruleset)                                                                       \
  X(landlock_restrict_self)                                                                        \
  X(lchown)                                                                                        \
  X(lgetxattr)                                                                                     \
  X(link)                                                                                          \
  X(linkat)                                                                                        \
  X(listen)                                                                                        \
  X(listxattr)                                                                                     \
  X(llistxattr)                                                                                    \
  X(lremovexattr)                                                                                  \
  X(lseek)                                                                                         \
  X(lsetxattr)                                                                                     \
  X(lstat)                                                                                         \
  X(madvise)                                                                                       \
  X(membarrier)                                                                                    \
  X(memfd_create)                                                                                  \
  X(mincore)                                                                                       \
  X(mkdir)                                                                                         \
  X(mkdirat)                                                                                       \
  X(mknod)                                                                                         \
  X(mknodat)                                                                                       \
  X(mlock)                                                                                         \
  X(mlock2)                                                                                        \
  X(mlockall)                                                                                      \
  X(mmap)                                                                                          \
  X(mprotect)                                                                                      \
  X(mq_getsetattr)                                                                                 \
  X(mq_notify)                                                                                     \
  X(mq_open)                                                                                       \
  X(mq_timedreceive)                                                                               \
  X(mq_timedsend)                                                                                  \
  X(mq_unlink)                                                                                     \
  X(mremap)                                                                                        \
  X(msgctl)                                                                                        \
  X(msgget)                                                                                        \
  X(msgrcv)                                                                                        \
  X(msgsnd)                                                                                        \
  X(msync)                                                                                         \
  X(munlock)                                                                                       \
  X(munlockall)                                                                                    \
  X(munmap)                                                                                        \
  X(nanosleep)                                                                                     \
  X(newfstatat)                                                                                    \
  X(open)                                                                                          \
  X(openat)                                                                                        \
  X(openat2)                                                                                       \
  X(pause)                                                                                         \
  X(pidfd_open)                                                                                    \
  X(pidfd_send_signal)                                                                             \
  X(pipe)                                                                                          \
  X(pipe2)                                                                                         \
  X(pkey_alloc)                                                                                    \
  X(pkey_free)                                                                                     \
  X(pkey_mprotect)                                                                                 \
  X(poll)                                                                                          \
  X(ppoll)                                                                                         \
  X(prctl)                                                                                         \
  X(pread64)                                                                                       \
  X(preadv)                                                                                        \
  X(preadv2)                                                                                       \
  X(prlimit64)                                                                                     \
  X(process_mrelease)                                                                              \
  X(pselect6)                                                                                      \
  X(pwrite64)                                                                                      \
  X(pwritev)                                                                                       \
  X(pwritev2)                                                                                      \
  X(read)                                                                                          \
  X(readahead)                                                                                     \
  X(readlink)                                                                                      \
  X(readlinkat)                                                                                    \
  X(readv)                                                                                         \
  X(recvfrom)                                                                                      \
  X(recvmmsg)                                                                                      \
  X(recvmsg)                                                                                       \
  X(remap_file_pages)                                                                              \
  X(removexattr)                                                                                   \
  X(rename)                                                                                        \
  X(renameat)                                                                                      \
  X(renameat2)                                                                                     \
  X(restart_syscall)                                                                               \
  X(rmdir)                                                                                         \
  X(rseq)                                                                                          \
  X(rt_sigaction)                                                                                  \
  X(rt_sigpending)                                                                                 \
  X(rt_sigprocmask)                                                                                \
  X(rt_sigqueueinfo)                                                                               \
  X(rt_sigreturn)                                                                                  \
  X(rt_sigsuspend)                                                                                 \
  X(rt_sigtimedwait)                                                                               \
  X(rt_tgsigqueueinfo)                                                                             \
  X(sched_get_priority_max)                                                                        \
  X(sched_get_priority_min)                                                                        \
  X(sched_getaffinity)                                                                             \
  X(sched_getattr)                                                                                 \
  X(sched_getparam)                                                                                \
  X(sched_getscheduler)                                                                            \
  X(sched_rr_get_interval)                                                                         \
  X(sched_setaffinity)                                                                             \
  X(sched_setattr)                                                                                 \
  X(sched_setparam)                                                                                \
  X(sched_setscheduler)                                                                            \
  X(sched_yield)                                                                                   \
  X(seccomp)                                                                                       \
  X(select)                                                                                        \
  X(semctl)                                                                                        \
  X(semget)                                                                                        \
  X(semop)                                                                                         \
  X(semtimedop)                                                                                    \
  X(sendfile)                                                                                      \
  X(sendmmsg)                                                                                      \
  X(sendmsg)                                                                                       \
  X(sendto)                                                                                        \
  X(set_robust_list)                                                                               \
  X(set_thread_area)                                                                               \
  X(set_tid_address)                                                                               \
  X(setfsgid)                                                                                      \
  X(setfsuid)                                                                                      \
  X(setgid)                                                                                        \
  X(setgroups)                                                                                     \
  X(setitimer)                                                                                     \
  X(setpgid)                                                                                       \
  X(setpriority)                                                                                   \
  X(setregid)                                                                                      \
  X(setresgid)                                                                                     \
  X(setresuid)                                                                                     \
  X(setreuid)                                                                                      \
  X(setrlimit)                                                                                     \
  X(setsid)                                                                                        \
  X(setsockopt)                                                                                    \
  X(setuid)                                                                                        \
  X(setxattr)                                                                                      \
  X(shmat)                                                                                         \
  X(shmctl)                                                                                        \
  X(shmdt)                                                                                         \
  X(shmget)                                                                                        \
  X(shutdown)                                                                                      \
  X(sigaltstack)                                                                                   \
  X(signalfd)                                                                                      \
  X(signalfd4)                                                                                     \
  X(splice)                                                                                        \
  X(stat)                                                                                          \
  X(statfs)                                                                                        \
  X(statx)                                                                                         \
  X(symlink)                                                                                       \
  X(symlinkat)                                                                                     \
  X(sync)                                                                                          \
  X(sync_file_range)                                                                               \
  X(syncfs)                                                                                        \
  X(sysinfo)                                                                                       \
  X(tee)                                                                                           \
  X(tgkill)                                                                                        \
  X(time)                                                                                          \
  X(timer_create)                                                                                  \
  X(timer_delete)                                                                                  \
  X(timer_getoverrun)                                                                              \
  X(timer_gettime)                                                                                 \
  X(timer_settime)                                                                                 \
  X(timerfd_create)                                                                                \
  X(timerfd_gettime)                                                                               \
  X(timerfd_settime)                                                                               \
  X(times)                                                                                         \
  X(tkill)                                                                                         \
  X(truncate)                                                                                      \
  X(umask)                                                                                         \
  X(uname)                                                                                         \
  X(unlink)                                                                                        \
  X(unlinkat)                                                                                      \
  X(utime)                                                                                         \
  X(utimensat)                                                                                     \
  X(utimes)                                                                                        \
  X(vfork)                                                                                         \
  X(vmsplice)                                                                                      \
  X(wait4)                                                                                         \
  X(waitid)                                                                                        \
  X(write)                                                                                         \
  X(writev)

/* Allowed only when the first argument equals the value: one rule each (a
 * call's rules are alternatives). Values in decimal, as JSON wants them. */
#define JD_SECCOMP_ARG0(X)                                                                         \
  X(socket, 1)               /* AF_UNIX */                                                         \
  X(socket, 2)               /* AF_INET */                                                         \
  X(socket, 10)              /* AF_INET6 */                                                        \
  X(socket, 16)              /* AF_NETLINK */                                                      \
  X(socketpair, 1)           /* AF_UNIX (the only family Linux pairs) */                           \
  X(personality, 0)          /* PER_LINUX */                                                       \
  X(personality, 8)          /* PER_LINUX32 */                                                     \
  X(personality, 131072)     /* UNAME26 */                                                         \
  X(personality, 131080)     /* PER_LINUX32 | UNAME26 */                                           \
  X(personality, 4294967295) /* 0xffffffff: the query */

#define JD_SC_QUOTED(name) "\"" #name "\","
#define JD_SC_ARG0_RULE(name, value)                                                               \
  "{\"names\":[\"" #name                                                                           \
  "\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":" #value                     \
  ",\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"}]},"

/* clone is allowed when (flags & mask) == 0, mask = every namespace flag:
 * CLONE_NEWNS 0x20000, NEWCGROUP 0x2000000, NEWUTS 0x4000000, NEWIPC
 * 0x8000000, NEWUSER 0x10000000, NEWPID 0x20000000, NEWNET 0x40000000
 * (0x7e020000 = 2114060288), as in Docker's default. clone3 gets ENOSYS
 * (38) so that libc falls back to clone. */
#define JD_SC_CLONE_RULES                                                                          \
  "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":"         \
  "2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"                                    \
  "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}"

static const char head[] = "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                           "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"syscalls\":[{\"names\":[";
/* Every allowed name quoted, each followed by a comma: the last comma is
 * dropped when the profile is put together. */
static const char names[] = JD_SECCOMP_ALLOWED(JD_SC_QUOTED);
static const char tail[] =
    "],\"action\":\"SCMP_ACT_ALLOW\"}," JD_SECCOMP_ARG0(JD_SC_ARG0_RULE) JD_SC_CLONE_RULES "]}";

/* The three parts fit exactly (the names' last comma and two of the three
 * NULs are spare). */
static char profile[sizeof head + sizeof names + sizeof tail];
static pthread_once_t profile_once = PTHREAD_ONCE_INIT;

static void profile_build(void) {
  char *p = profile;
  memcpy(p, head, sizeof head - 1);
  p += sizeof head - 1;
  memcpy(p, names, sizeof names - 2); /* without the last comma */
  p += sizeof names - 2;
  memcpy(p, tail, sizeof tail); /* with its NUL */
}

const char *jd_seccomp_security_opt(void) {
  pthread_once(&profile_once, profile_build);
  return profile;
}
