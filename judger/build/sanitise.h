/* Artifacts made safe on the host before anyone uses them.
 *
 * A build command is hostile: what it leaves in /app may be a set-uid
 * binary, a device node, a FIFO, a socket, a link to a host file, a tree
 * deeper than PATH_MAX or a million files. The sanitiser walks the tree
 * with common/fs.h (fd-relative, links never followed) and:
 *   - gives every entry (links themselves) to the judger (uid:gid given),
 *   - sets files to 0644, or 0755 when any execute bit was set, and
 *     directories to 0755: set-uid, set-gid and sticky bits are gone, and
 *     nothing is writable but by the judger,
 *   - removes devices, FIFOs and sockets, with a line in the build log,
 *   - stops at the first cap passed (total bytes of regular files, number
 *     of entries, directory depth), with the reason.
 * Links stay links: they resolve inside a container, never on the host.
 */
#ifndef JD_SANITISE_H
#define JD_SANITISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "build/program.h"
#include "dockerapi/buf.h"

typedef struct jd_sanitise_report {
  int64_t bytes;   /* regular files' sizes, summed */
  int64_t entries; /* every entry below the root */
  int64_t removed; /* devices, FIFOs, sockets removed */
  char over[256];  /* why a cap stopped it; "" when the tree is within them */
  /* jd_sanitise_extract only: */
  bool complete;    /* the stream reached its end-of-archive */
  int64_t left_out; /* entries refused (bad names, duplicates, hard links) */
  char broken[256]; /* why the stream stopped early, when !complete and no cap */
} jd_sanitise_report;

/* Sanitises the tree at dir under the caps of lim (artifacts_*; zero =
 * default), giving it to uid:gid. log (may be NULL) gets a line per entry
 * removed. 0 with *r filled (r->over set when a cap was passed: the tree
 * is then half done and must not be used), -1 with errno. */
int jd_sanitise_tree(jd_sanitise_report *r, const char *dir, const jd_build_limits *lim, uid_t uid,
                     gid_t gid, dk_buf *log);

/* The same rules applied while a tar stream is extracted: what a build
 * container's judger-hold writes (match/hold/hold_build.h), read as hostile
 * input (the build's own processes could write into the stream too). The
 * directory dest is made here (0755; it must not exist) and filled
 * fd-relative, one name component at a time, never following a link
 * (O_NOFOLLOW, O_EXCL): directories 0755, regular files 0644 or 0755 (any
 * execute bit), symbolic links as links (their targets as written),
 * everything the judger's (it creates them). FIFOs and devices are not
 * made, with a line in log; hard links, absolute names, "", "." and ".."
 * components and names already there are left out, with a line. Each
 * entry is counted against the caps BEFORE anything is made or read (a
 * file's size from its header: a sparse giant stops at the header, the
 * implied parent directories count too); the stream's raw bytes are capped
 * as well (bytes cap + 2 KiB per entry allowed + 16 MiB). All-zero blocks
 * are left as holes.
 *
 * The stream is read from fd until end of file, or, when gone_fd is not
 * -1, until gone_fd is readable (the writer is gone: an eventfd) and fd
 * (non-blocking) has nothing left: a FIFO held open read+write never ends
 * by itself. Reading stops at the end-of-archive, at a cap or at a broken
 * stream: the caller then closes fd, so that a writer gets EPIPE.
 * Returns 0 with *r filled: r->over when a cap stopped it, else
 * r->complete, else r->broken (the tree is then partial: remove it); -1
 * with errno when the host failed (no space, I/O). */
int jd_sanitise_extract(jd_sanitise_report *r, int fd, int gone_fd, const char *dest,
                        const jd_build_limits *lim, dk_buf *log);

#endif
