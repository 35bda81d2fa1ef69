/* The judger's seccomp profile (see seccomp.h). The list is kept by hand;
 * keep docs/security.md's in step. */
#include "match/seccomp.h"

/* clone's namespace flags, one rule each (a rule matches when
 * (flags & mask) == mask): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
 * NEWPID, NEWNET. AF_VSOCK is 40. */
static const char profile[] =
    "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
    "\"syscalls\":["
    "{\"names\":[\"acct\",\"add_key\",\"afs_syscall\",\"bpf\",\"chroot\",\"clock_adjtime\",\"clock_"
    "settime\",\"create_module\",\"delete_module\",\"fanotify_init\",\"finit_module\",\"fsconfig\","
    "\"fsmount\",\"fsopen\",\"fspick\",\"get_kernel_syms\",\"get_mempolicy\",\"getpmsg\",\"init_"
    "module\",\"io_uring_enter\",\"io_uring_register\",\"io_uring_setup\",\"ioperm\",\"iopl\","
    "\"kcmp\",\"kexec_file_load\",\"kexec_load\",\"keyctl\",\"lookup_dcookie\",\"mbind\",\"mount\","
    "\"mount_setattr\",\"move_mount\",\"move_pages\",\"name_to_handle_at\",\"nfsservctl\",\"open_"
    "by_handle_at\",\"open_tree\",\"perf_event_open\",\"pidfd_getfd\",\"pivot_root\",\"process_"
    "madvise\",\"process_vm_readv\",\"process_vm_writev\",\"ptrace\",\"putpmsg\",\"query_module\","
    "\"quotactl\",\"reboot\",\"request_key\",\"security\",\"set_mempolicy\",\"setns\","
    "\"settimeofday\",\"stime\",\"swapoff\",\"swapon\",\"syslog\",\"sysfs\",\"_sysctl\","
    "\"tuxcall\",\"umount\",\"umount2\",\"unshare\",\"uselib\",\"userfaultfd\",\"ustat\","
    "\"vhangup\",\"vm86\",\"vm86old\",\"vserver\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},"
    "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
    "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,"
    "\"args\":[{\"index\":0,\"value\":40,\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
    "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":0,"
    "\"value\":131072,\"valueTwo\":131072,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},{\"names\":[\"clone\"],"
    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":0,\"value\":33554432,"
    "\"valueTwo\":33554432,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},{\"names\":[\"clone\"],\"action\":"
    "\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":0,\"value\":67108864,\"valueTwo\":"
    "67108864,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_"
    "ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":0,\"value\":134217728,\"valueTwo\":134217728,"
    "\"op\":\"SCMP_CMP_MASKED_EQ\"}]},{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\","
    "\"errnoRet\":1,\"args\":[{\"index\":0,\"value\":268435456,\"valueTwo\":268435456,\"op\":"
    "\"SCMP_CMP_MASKED_EQ\"}]},{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,"
    "\"args\":[{\"index\":0,\"value\":536870912,\"valueTwo\":536870912,\"op\":\"SCMP_CMP_MASKED_"
    "EQ\"}]},{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{"
    "\"index\":0,\"value\":1073741824,\"valueTwo\":1073741824,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";

const char *jd_seccomp_security_opt(void) { return profile; }
