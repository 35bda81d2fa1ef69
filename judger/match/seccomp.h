/* The judger's seccomp profile for every container of a match, passed
 * inline through SecurityOpt ("seccomp=<json>"), so no file has to exist on
 * the engine's host (it works as is against a Docker-in-Docker sidecar).
 *
 * Docker's default profile is an allow list compiled into the engine; a
 * profile given through SecurityOpt replaces it. This one is a deny list
 * (default allow) holding every call Docker's default refuses to a
 * container without capabilities (mount, ptrace, kexec, modules, clocks,
 * namespaces through unshare/setns/clone flags, ...) plus what isolate
 * blocks so that sandboxes running side by side cannot see each other:
 * io_uring_*, the kernel keyrings (add_key, keyctl, request_key), bpf,
 * userfaultfd, perf_event_open, vsock sockets and the legacy syscall ABIs
 * (only SCMP_ARCH_X86_64 is listed: i386 and x32 calls are refused). Every
 * refused call fails with EPERM (clone3 with ENOSYS, so libc falls back to
 * clone, whose namespace flags are then refused). docs/security.md says
 * what a deny list leaves open (calls newer than this list). */
#ifndef JD_SECCOMP_H
#define JD_SECCOMP_H

/* "seccomp={...}": a constant string for HostConfig.SecurityOpt. */
const char *jd_seccomp_security_opt(void);

#endif
