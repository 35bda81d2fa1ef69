// test-labels: unit
/* The seccomp profile's structure, read back with json-c: an allow list
 * (default ERRNO), x86-64 only, every name once, none of the refused calls
 * in an allow rule, the conditional rules exactly as docs/security.md says
 * (socket families, personas, clone without namespace flags, clone3 ENOSYS),
 * and what glibc, Python and Node.js need still there. The engine test
 * (match_seccomp.c) shows the calls failing in a player. */
#include <pthread.h>
#include <string.h>

#include <json-c/json.h>

#include "match/seccomp.h"
#include "support.h"

/* Refused: docs/security.md's list. Docker refuses them to a container
 * without capabilities, or the judger refuses them on top of Docker. */
static const char *const refused[] = {
    "acct", "add_key", "afs_syscall", "bpf", "chroot", "clock_adjtime", "clock_settime",
    "create_module", "delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount",
    "fsopen", "fspick", "get_kernel_syms", "get_mempolicy", "getpmsg", "init_module",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp",
    "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "memfd_secret",
    "migrate_pages", "modify_ldt", "mount", "mount_setattr", "move_mount", "move_pages",
    "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
    "pidfd_getfd", "pivot_root", "process_madvise", "process_vm_readv", "process_vm_writev",
    "ptrace", "putpmsg", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key",
    "security", "set_mempolicy", "set_mempolicy_home_node", "setdomainname", "sethostname", "setns",
    "settimeofday", "stime", "swapoff", "swapon", "syslog", "sysfs", "_sysctl", "tuxcall", "umount",
    "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vhangup", "vm86", "vm86old", "vserver",
    "clone3",
    /* i386 entry points that would bypass the socket rules or the list */
    "socketcall", "ipc", "_llseek", "mmap2", "chown32", "fcntl64", "clock_gettime64"};

/* What the samples' runtimes (static C, glibc, CPython, Node.js, busybox,
 * tini, judger-hold) call. */
static const char *const needed[] = {"execve",
                                     "exit_group",
                                     "arch_prctl",
                                     "set_tid_address",
                                     "set_robust_list",
                                     "rseq",
                                     "prlimit64",
                                     "mmap",
                                     "mprotect",
                                     "munmap",
                                     "brk",
                                     "futex",
                                     "epoll_create1",
                                     "epoll_ctl",
                                     "epoll_pwait",
                                     "epoll_wait",
                                     "eventfd2",
                                     "pipe2",
                                     "getrandom",
                                     "statx",
                                     "newfstatat",
                                     "openat",
                                     "read",
                                     "write",
                                     "close",
                                     "sched_getaffinity",
                                     "membarrier",
                                     "madvise",
                                     "rt_sigaction",
                                     "rt_sigprocmask",
                                     "rt_sigreturn",
                                     "sigaltstack",
                                     "wait4",
                                     "kill",
                                     "getpid",
                                     "ioctl",
                                     "fcntl",
                                     "dup3",
                                     "getdents64",
                                     "readlink",
                                     "clock_gettime",
                                     "clock_nanosleep",
                                     "nanosleep",
                                     "uname",
                                     "sysinfo",
                                     "prctl",
                                     "connect",
                                     "sendto",
                                     "recvfrom",
                                     "setsockopt",
                                     "fork",
                                     "vfork",
                                     "pread64",
                                     "lseek",
                                     "capget",
                                     "sched_yield",
                                     "getcwd",
                                     "faccessat2",
                                     "close_range",
                                     "timerfd_create",
                                     "memfd_create",
                                     "setpgid",
                                     "rt_sigtimedwait"};

static json_object *profile(void) {
  const char *opt = jd_seccomp_security_opt();
  cr_assert_not_null(opt);
  cr_assert(!strncmp(opt, "seccomp=", 8), "%.20s", opt);
  json_tokener *tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *j = json_tokener_parse_ex(tok, opt + 8, (int)strlen(opt + 8));
  cr_assert_eq(json_tokener_get_error(tok), json_tokener_success, "%s",
               json_tokener_error_desc(json_tokener_get_error(tok)));
  cr_assert_eq(json_tokener_get_parse_end(tok), strlen(opt + 8), "bytes after the JSON");
  json_tokener_free(tok);
  cr_assert(json_object_is_type(j, json_type_object));
  return j;
}

static json_object *field(json_object *o, const char *key) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
  return v;
}

static const char *str(json_object *o, const char *key) {
  json_object *v = field(o, key);
  cr_assert(json_object_is_type(v, json_type_string), "%s is not a string", key);
  return json_object_get_string(v);
}

static int64_t num(json_object *o, const char *key) {
  json_object *v = field(o, key);
  cr_assert(json_object_is_type(v, json_type_int), "%s is not an integer", key);
  return json_object_get_int64(v);
}

static bool has_args(json_object *rule) {
  json_object *a = NULL;
  return json_object_object_get_ex(rule, "args", &a) && json_object_array_length(a) > 0;
}

/* The rules naming `name`: how many, and how many allow it unconditionally. */
static void count_rules(json_object *j, const char *name, size_t *rules, size_t *plain_allows) {
  *rules = *plain_allows = 0;
  json_object *sc = field(j, "syscalls");
  for (size_t i = 0; i < json_object_array_length(sc); i++) {
    json_object *rule = json_object_array_get_idx(sc, i);
    json_object *names = field(rule, "names");
    for (size_t k = 0; k < json_object_array_length(names); k++)
      if (!strcmp(json_object_get_string(json_object_array_get_idx(names, k)), name)) {
        (*rules)++;
        if (!strcmp(str(rule, "action"), "SCMP_ACT_ALLOW") && !has_args(rule))
          (*plain_allows)++;
      }
  }
}

Test(seccomp, an_allow_list_for_x86_64_only) {
  json_object *j = profile();
  cr_assert_str_eq(str(j, "defaultAction"), "SCMP_ACT_ERRNO");
  cr_assert_eq(num(j, "defaultErrnoRet"), 1);
  json_object *arches = field(j, "architectures");
  cr_assert_eq(json_object_array_length(arches), 1);
  cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(arches, 0)),
                   "SCMP_ARCH_X86_64");
  json_object *sc = field(j, "syscalls");
  cr_assert_gt(json_object_array_length(sc), 1);
  /* Every rule: names (non-empty strings), an action, errnoRet with ERRNO. */
  for (size_t i = 0; i < json_object_array_length(sc); i++) {
    json_object *rule = json_object_array_get_idx(sc, i);
    json_object *names = field(rule, "names");
    cr_assert(json_object_is_type(names, json_type_array));
    cr_assert_gt(json_object_array_length(names), 0);
    for (size_t k = 0; k < json_object_array_length(names); k++) {
      json_object *n = json_object_array_get_idx(names, k);
      cr_assert(json_object_is_type(n, json_type_string));
      cr_assert_gt(strlen(json_object_get_string(n)), 0);
    }
    const char *action = str(rule, "action");
    if (!strcmp(action, "SCMP_ACT_ERRNO"))
      cr_assert_gt(num(rule, "errnoRet"), 0);
    else
      cr_assert_str_eq(action, "SCMP_ACT_ALLOW");
  }
  json_object_put(j);
}

Test(seccomp, every_name_once_and_no_refused_call_allowed) {
  json_object *j = profile();
  json_object *sc = field(j, "syscalls");
  size_t allowed = 0;
  for (size_t i = 0; i < json_object_array_length(sc); i++) {
    json_object *rule = json_object_array_get_idx(sc, i);
    json_object *names = field(rule, "names");
    bool allow = !strcmp(str(rule, "action"), "SCMP_ACT_ALLOW");
    for (size_t k = 0; k < json_object_array_length(names); k++) {
      const char *name = json_object_get_string(json_object_array_get_idx(names, k));
      for (size_t r = 0; r < sizeof refused / sizeof refused[0]; r++)
        cr_assert(!allow || strcmp(name, refused[r]), "%s is allowed", name);
      /* A name allowed whatever its arguments is in no other rule (a
       * conditional rule beside it would be dead, a duplicate a typo). */
      size_t rules = 0, plain = 0;
      count_rules(j, name, &rules, &plain);
      if (plain > 0)
        cr_assert_eq(rules, 1, "%s is in %zu rules", name, rules);
      if (allow && !has_args(rule))
        allowed++;
    }
  }
  cr_assert_gt(allowed, 250, "only %zu calls allowed", allowed);
  for (size_t n = 0; n < sizeof needed / sizeof needed[0]; n++) {
    size_t rules = 0, plain = 0;
    count_rules(j, needed[n], &rules, &plain);
    cr_assert_eq(plain, 1, "%s is not allowed", needed[n]);
  }
  json_object_put(j);
}

/* The values of arg 0 that allow `name` (SCMP_CMP_EQ rules), as a bit set
 * over `values`; fails on any other kind of rule for it. */
static unsigned allowed_values(json_object *j, const char *name, const uint64_t *values,
                               size_t nvalues) {
  unsigned seen = 0;
  json_object *sc = field(j, "syscalls");
  for (size_t i = 0; i < json_object_array_length(sc); i++) {
    json_object *rule = json_object_array_get_idx(sc, i);
    json_object *names = field(rule, "names");
    bool named = false;
    for (size_t k = 0; k < json_object_array_length(names); k++)
      named |= !strcmp(json_object_get_string(json_object_array_get_idx(names, k)), name);
    if (!named)
      continue;
    cr_assert_eq(json_object_array_length(names), 1, "%s shares a conditional rule", name);
    cr_assert_str_eq(str(rule, "action"), "SCMP_ACT_ALLOW");
    json_object *args = field(rule, "args");
    cr_assert_eq(json_object_array_length(args), 1);
    json_object *arg = json_object_array_get_idx(args, 0);
    cr_assert_eq(num(arg, "index"), 0);
    cr_assert_str_eq(str(arg, "op"), "SCMP_CMP_EQ");
    uint64_t v = json_object_get_uint64(field(arg, "value"));
    size_t at = 0;
    while (at < nvalues && values[at] != v)
      at++;
    cr_assert_lt(at, nvalues, "%s is allowed with %llu", name, (unsigned long long)v);
    cr_assert_eq(seen & (1u << at), 0, "%s: %llu twice", name, (unsigned long long)v);
    seen |= 1u << at;
  }
  return seen;
}

Test(seccomp, sockets_personas_and_clone_only_with_the_documented_arguments) {
  json_object *j = profile();
  static const uint64_t families[] = {1 /* AF_UNIX */, 2 /* AF_INET */, 10 /* AF_INET6 */,
                                      16 /* AF_NETLINK */};
  cr_assert_eq(allowed_values(j, "socket", families, 4), 0xf);
  cr_assert_eq(allowed_values(j, "socketpair", families, 1), 0x1);
  static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
  cr_assert_eq(allowed_values(j, "personality", personas, 5), 0x1f);

  /* clone: one rule, allowed when no CLONE_NEW* flag is set. */
  size_t rules = 0, plain = 0;
  count_rules(j, "clone", &rules, &plain);
  cr_assert_eq(rules, 1);
  cr_assert_eq(plain, 0);
  count_rules(j, "clone3", &rules, &plain);
  cr_assert_eq(rules, 1);
  json_object *sc = field(j, "syscalls");
  for (size_t i = 0; i < json_object_array_length(sc); i++) {
    json_object *rule = json_object_array_get_idx(sc, i);
    const char *first = json_object_get_string(json_object_array_get_idx(field(rule, "names"), 0));
    if (!strcmp(first, "clone")) {
      cr_assert_str_eq(str(rule, "action"), "SCMP_ACT_ALLOW");
      json_object *arg = json_object_array_get_idx(field(rule, "args"), 0);
      cr_assert_eq(num(arg, "index"), 0);
      cr_assert_str_eq(str(arg, "op"), "SCMP_CMP_MASKED_EQ");
      /* NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET */
      cr_assert_eq(num(arg, "value"), 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 |
                                          0x10000000 | 0x20000000 | 0x40000000);
      cr_assert_eq(num(arg, "valueTwo"), 0);
    } else if (!strcmp(first, "clone3")) {
      cr_assert_str_eq(str(rule, "action"), "SCMP_ACT_ERRNO");
      cr_assert_eq(num(rule, "errnoRet"), 38 /* ENOSYS: libc falls back to clone */);
    }
  }
  json_object_put(j);
}

static void *call(void *arg) {
  (void)arg;
  return (void *)jd_seccomp_security_opt();
}

Test(seccomp, built_once_whoever_asks_first) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, call, NULL), 0);
  void *got[4];
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], &got[i]);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(got[i], (void *)jd_seccomp_security_opt());
  const char *opt = jd_seccomp_security_opt();
  cr_assert_eq(opt[strlen(opt) - 1], '}');
}
