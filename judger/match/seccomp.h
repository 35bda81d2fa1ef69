/* The judger's seccomp profile for every container of a match, passed
 * inline through SecurityOpt ("seccomp=<json>"), so no file has to exist on
 * the engine's host (it works as is against a Docker-in-Docker sidecar).
 *
 * A profile given through SecurityOpt replaces Docker's default. This one
 * is an allow list, like Docker's: every call is refused (EPERM) unless it
 * is named. The names are Docker's default allow list (moby's
 * profiles/seccomp/default.json, engines 20.10 to 26.1) for a container
 * without capabilities, x86-64 calls only, minus what the judger refuses on
 * top of Docker so that sandboxes side by side cannot see each other or the
 * kernel's rarer corners: io_uring_*, clock_adjtime, name_to_handle_at,
 * memfd_secret, modify_ldt (the kernel keyrings, bpf, userfaultfd,
 * perf_event_open, ptrace and the mount/namespace calls are not in Docker's
 * unconditional list either). Some calls are allowed only with given
 * arguments:
 *   - socket() for AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK only,
 *     socketpair() for AF_UNIX only;
 *   - personality() with Docker's personas only (0, PER_LINUX32, UNAME26,
 *     both, and the 0xffffffff query);
 *   - clone() without any CLONE_NEW* flag; clone3 fails with ENOSYS (its
 *     flags are behind a pointer seccomp cannot read), so libc falls back to
 *     clone.
 * Only the x86-64 ABI is listed: i386 (int 0x80) and x32 calls are refused.
 * A call newer than the list fails too: runc answers ENOSYS for numbers
 * above the highest one the profile names (so libc's fallbacks work), EPERM
 * for the unnamed ones below it. The tables are in seccomp.c;
 * docs/security.md lists what is refused and why. */
#ifndef JD_SECCOMP_H
#define JD_SECCOMP_H

/* "seccomp={...}": a string for HostConfig.SecurityOpt, built once on the
 * first call (thread-safe) and owned by the module. */
const char *jd_seccomp_security_opt(void);

#endif
