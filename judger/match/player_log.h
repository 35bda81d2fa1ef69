/* Capped container logs.
 *
 * Every container of a match streams its stdout+stderr into a spool file
 * with a byte cap. Past the cap the spool keeps what fits, writes a
 * truncation marker and reports it once, so the caller can mark the
 * container OLE and kill it. At the end, the spools of every instance of
 * AI i are appended, in start order, to player_<i>.log, each after a
 * separator line naming the instance.
 */
#ifndef JD_PLAYER_LOG_H
#define JD_PLAYER_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define JD_LOG_MARKER_FMT "\n[judger] log truncated: over its cap of %zu bytes\n"

typedef struct jd_log_spool jd_log_spool;

/* Creates (truncates) path with mode 0644. Returns 0, or -1 with errno. The
 * caller closes it with jd_log_spool_close(). */
int jd_log_spool_open(jd_log_spool **out, const char *path, size_t cap);
/* Appends. Returns 0, *full false while under the cap, true when this
 * write went past it (what fits is kept, then the marker) and for every
 * write after that (dropped); -1 with errno on an I/O error. Not
 * thread-safe: one writer. */
int jd_log_spool_write(jd_log_spool *s, const char *data, size_t len, bool *full);
bool jd_log_spool_truncated(const jd_log_spool *s);
/* Closes and frees; NULL is fine. Returns 0, or -1 if a write-back failed. */
int jd_log_spool_close(jd_log_spool *s);

/* Appends header + '\n' (header NULL: none) and then the bytes of
 * spool_path (missing = empty) to dst, an fd open for writing (the judger's
 * O_EXCL temporary, see common/tmpfile.h). With a header, the copy ends
 * with a newline. Returns 0, or -1 with errno. */
int jd_player_log_append(int dst, const char *header, const char *spool_path);

#endif
