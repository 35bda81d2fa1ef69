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

#include <stdint.h>
#include <sys/types.h>

#include "build/program.h"
#include "dockerapi/buf.h"

typedef struct jd_sanitise_report {
  int64_t bytes;   /* regular files' sizes, summed */
  int64_t entries; /* every entry below the root */
  int64_t removed; /* devices, FIFOs, sockets removed */
  char over[256];  /* why a cap stopped it; "" when the tree is within them */
} jd_sanitise_report;

/* Sanitises the tree at dir under the caps of lim (artifacts_*; zero =
 * default), giving it to uid:gid. log (may be NULL) gets a line per entry
 * removed. 0 with *r filled (r->over set when a cap was passed: the tree
 * is then half done and must not be used), -1 with errno. */
int jd_sanitise_tree(jd_sanitise_report *r, const char *dir, const jd_build_limits *lim, uid_t uid,
                     gid_t gid, dk_buf *log);

#endif
