/* The judger's own files in a directory a program may have written to
 * (result.json, player_<i>.log, game_logic.log in --out): each is written
 * to a temporary created with O_CREAT|O_EXCL|O_NOFOLLOW under a random name
 * (a name the program cannot have planted: a clash is retried with another
 * one), relative to the directory's fd, and renamed into place last. A
 * planted directory, link or FIFO under any name can make the write fail
 * loudly at worst, never write through it. */
#ifndef JD_TMPFILE_H
#define JD_TMPFILE_H

#include <stddef.h>

typedef struct jd_tmpfile {
  int dirfd;      /* the directory, -1 once closed */
  int fd;         /* the temporary, open for writing */
  char tmp[64];   /* its name in the directory */
  char name[256]; /* the final name (one path component) */
} jd_tmpfile;

/* Creates the temporary for dir/name (name: one component). Returns 0, or
 * -1 with errno (t is then closed). */
int jd_tmpfile_open(jd_tmpfile *t, const char *dir, const char *name, int mode);
/* Closes the temporary and renames it to its final name (replacing a file
 * there). Returns 0, or -1 with errno and the temporary removed. t is
 * closed either way. */
int jd_tmpfile_commit(jd_tmpfile *t);
/* Removes the temporary and closes t (NULL-safe, idempotent). */
void jd_tmpfile_abort(jd_tmpfile *t);
/* open + write + commit. */
int jd_file_publish(const char *dir, const char *name, const void *data, size_t len, int mode);

/* Writes path atomically: jd_file_publish() into path's directory (an
 * O_EXCL|O_NOFOLLOW temporary under a random name, renamed last, never a
 * predictable "<path>.tmp.<pid>" that something else could have made
 * first). 0, or -1 with errno. */
int jd_write_file(const char *path, const void *data, size_t len);

#endif
