/* Runs that every judger process of a host can see: a run (a `judger run`
 * match, a `judger build`, a daemon task) holds an flock on its own file
 * <state_dir>/runs/<run id> for as long as it may have objects on the
 * engine or on disk. The file lists the labels ("k=v", one a line) that
 * the run's containers, networks and match work directories carry. The
 * kernel drops the lock when the process dies (kill -9 included), so any
 * judger's reconciliation (daemon/reconcile.h) keeps exactly what a live
 * run holds and removes the rest; docs/daemon.md "Reconciliation".
 *
 * A run takes its file BEFORE it creates anything: a sweep lists the
 * engine first and reads the runs after, so whatever it listed belongs to
 * a run that held its file by then. */
#ifndef JD_RUN_OWNER_H
#define JD_RUN_OWNER_H

#include <stdbool.h>
#include <stddef.h>

/* The directory under the state dir, and the length of a run id (hex). */
#define JD_RUNS_DIR "runs"
#define JD_RUN_ID_LEN 16
/* At most this many labels a run, each at most JD_RUN_LABEL_MAX chars; a
 * run file's text is read up to JD_RUN_FILE_MAX bytes. */
#define JD_RUN_LABELS_MAX 8
#define JD_RUN_LABEL_MAX 320
#define JD_RUN_FILE_MAX 4096

typedef struct jd_run_owner {
  int fd;    /* the locked file; -1 = none */
  int dirfd; /* <state_dir>/runs, where it is removed from */
  char id[JD_RUN_ID_LEN + 1];
  char label[JD_RUN_LABEL_MAX]; /* "judger.owner=<id>" */
} jd_run_owner;

/* A run not taken: jd_run_owner_release() does nothing with it. */
#define JD_RUN_OWNER_NONE                                                                          \
  { .fd = -1, .dirfd = -1 }

/* A new run id (JD_RUN_ID_LEN random hex chars). 0 or -1. */
int jd_run_id_new(char id[JD_RUN_ID_LEN + 1]);

/* Takes a run: makes <state_dir>/runs (0700; state_dir NULL or "" = the
 * default state dir), creates the run file (O_EXCL, O_NOFOLLOW, O_CLOEXEC,
 * in the directory opened without following links), locks it and writes
 * "judger.owner=<id>" (id new, random) and then labels (NULL-terminated,
 * may be NULL), one a line. 0, or -1 with errno (EINVAL: a label too
 * long, not printable ASCII without '=', or too many). */
int jd_run_owner_take(jd_run_owner *o, const char *state_dir, const char *const *labels);

/* Removes the file and drops the lock (NULL-safe, idempotent). */
void jd_run_owner_release(jd_run_owner *o);

/* The labels of every live run under state_dir (NULL-terminated,
 * malloc'd; free each and the vector). A file whose lock can be taken
 * belongs to a dead run: it is removed (counted in *dead when not NULL).
 * Files that are not run files are left alone. 0 (*out NULL when there is
 * none), or -1 with errno (a missing runs directory is 0). */
int jd_run_owner_live(char ***out, const char *state_dir, size_t *dead);

#endif
