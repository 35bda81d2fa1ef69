/* Tar archives through libarchive: writing build contexts and root
 * filesystems, and extracting archives without letting an entry escape. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "dockerapi/buf.h"
#include "dockerapi/tar.h"
#include "internal.h"

struct dk_tar {
  struct archive *a;
  dk_buf out;
  int failed;
  int finished;
};

static la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *data, size_t len) {
  dk_tar *t = ud;
  if (dk_buf_append(&t->out, data, len) != DK_OK) {
    archive_set_error(a, ENOSPC, "tar larger than its cap");
    return -1;
  }
  return (la_ssize_t)len;
}

int dk_tar_new(dk_tar **out, size_t max) {
  *out = NULL;
  dk_tar *t = calloc(1, sizeof *t);
  if (!t)
    return dk__err(DK_ENOMEM, 0, NULL);
  dk_buf_init(&t->out, max ? max : (size_t)1 << 30);
  t->a = archive_write_new();
  if (!t->a) {
    free(t);
    return dk__err(DK_ENOMEM, 0, NULL);
  }
  archive_write_set_format_pax_restricted(t->a);
  archive_write_set_bytes_in_last_block(t->a, 1);
  if (archive_write_open2(t->a, t, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
    archive_write_free(t->a);
    free(t);
    return dk__err(DK_EIO, 0, "tar: cannot open the archive");
  }
  *out = t;
  return DK_OK;
}

static int tar_fail(dk_tar *t, const char *what) {
  t->failed = 1;
  int code = t->out.truncated ? DK_ETOOBIG : DK_EIO;
  return dk__err(code, 0, "tar: %s: %s", what, archive_error_string(t->a));
}

static int tar_header(dk_tar *t, const char *name, mode_t type, int mode, size_t size,
                      const char *link) {
  if (t->failed || t->finished)
    return dk__err(DK_EINVAL, 0, "tar: archive already failed or finished");
  struct archive_entry *e = archive_entry_new();
  if (!e)
    return dk__err(DK_ENOMEM, 0, NULL);
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, (mode_t)mode);
  archive_entry_set_size(e, (la_int64_t)size);
  if (link)
    archive_entry_set_symlink(e, link);
  /* Fixed times and owners: the same input gives the same bytes. */
  archive_entry_set_mtime(e, 0, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  int r = archive_write_header(t->a, e);
  archive_entry_free(e);
  return r == ARCHIVE_OK ? DK_OK : tar_fail(t, name);
}

int dk_tar_add_file(dk_tar *t, const char *name, const void *data, size_t len, int mode) {
  int rc = tar_header(t, name, AE_IFREG, mode, len, NULL);
  if (rc)
    return rc;
  if (len && archive_write_data(t->a, data, len) != (la_ssize_t)len)
    return tar_fail(t, name);
  return DK_OK;
}

int dk_tar_add_dir(dk_tar *t, const char *name, int mode) {
  return tar_header(t, name, AE_IFDIR, mode, 0, NULL);
}

int dk_tar_add_symlink(dk_tar *t, const char *name, const char *target) {
  return tar_header(t, name, AE_IFLNK, 0777, 0, target);
}

/* Writes the content of the regular file at path (entry arcname, its
 * header written) into w. */
static int add_file_data(struct archive *w, const char *path, const char *arcname, dk_tar *t) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return dk__err(DK_EIO, 0, "tar: cannot open %s: %s", path, strerror(errno));
  int rc = DK_OK;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (archive_write_data(w, buf, (size_t)n) < 0) {
      rc = t ? tar_fail(t, arcname)
             : dk__err(DK_EIO, 0, "tar: %s: %s", arcname, archive_error_string(w));
      break;
    }
  }
  close(fd);
  if (n < 0 && !rc)
    rc = dk__err(DK_EIO, 0, "tar: reading %s: %s", path, strerror(errno));
  return rc;
}

/* The name in the archive of the entry at rel below the tree's root, under
 * prefix ("" = none); false for the root itself when there is no prefix. */
static bool arc_name(char *out, size_t len, const char *prefix, const char *rel) {
  if (*prefix && *rel)
    snprintf(out, len, "%s/%s", prefix, rel);
  else if (*prefix)
    snprintf(out, len, "%s", prefix);
  else if (*rel)
    snprintf(out, len, "%s", rel);
  else
    return false;
  return true;
}

/* Writes e, read from disk at path, as arcname: its header, then a regular
 * file's bytes. */
static int add_entry(struct archive *w, struct archive_entry *e, const char *path,
                     const char *arcname, dk_tar *t) {
  archive_entry_set_pathname(e, arcname);
  if (archive_write_header(w, e) < ARCHIVE_WARN)
    return t ? tar_fail(t, arcname)
             : dk__err(DK_EIO, 0, "tar: %s: %s", arcname, archive_error_string(w));
  if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0)
    return add_file_data(w, path, arcname, t);
  return DK_OK;
}

/* Writes every entry under src via a disk reader, renaming the prefix. */
static int add_tree(struct archive *w, const char *src, const char *name, dk_tar *t) {
  struct archive *disk = archive_read_disk_new();
  if (!disk)
    return dk__err(DK_ENOMEM, 0, NULL);
  archive_read_disk_set_symlink_physical(disk); /* store links, never follow */
  archive_read_disk_set_standard_lookup(disk);
  int rc = DK_OK;
  if (archive_read_disk_open(disk, src) != ARCHIVE_OK) {
    rc = dk__err(DK_EIO, 0, "tar: cannot read %s: %s", src, archive_error_string(disk));
    goto done;
  }
  size_t srclen = strlen(src);
  while (srclen > 1 && src[srclen - 1] == '/')
    srclen--;
  const char *prefix = name && strcmp(name, ".") != 0 ? name : "";
  for (;;) {
    struct archive_entry *e = archive_entry_new();
    int r = archive_read_next_header2(disk, e);
    if (r == ARCHIVE_EOF) {
      archive_entry_free(e);
      break;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      rc = dk__err(DK_EIO, 0, "tar: reading %s: %s", src, archive_error_string(disk));
      archive_entry_free(e);
      break;
    }
    archive_read_disk_descend(disk);
    const char *path = archive_entry_sourcepath(e);
    const char *rel = path + (strlen(path) >= srclen ? srclen : strlen(path));
    while (*rel == '/')
      rel++;
    char arcname[PATH_MAX];
    if (arc_name(arcname, sizeof arcname, prefix, rel))
      rc = add_entry(w, e, path, arcname, t);
    archive_entry_free(e);
    if (rc)
      break;
  }
done:
  archive_read_close(disk);
  archive_read_free(disk);
  return rc;
}

int dk_tar_add_path(dk_tar *t, const char *src, const char *name) {
  if (t->failed || t->finished)
    return dk__err(DK_EINVAL, 0, "tar: archive already failed or finished");
  int rc = add_tree(t->a, src, name, t);
  if (rc)
    t->failed = 1;
  return rc;
}

int dk_tar_finish(dk_tar *t, const void **data, size_t *len) {
  if (t->failed)
    return dk__err(DK_EINVAL, 0, "tar: archive failed earlier");
  if (!t->finished) {
    if (archive_write_close(t->a) != ARCHIVE_OK)
      return tar_fail(t, "close");
    t->finished = 1;
  }
  *data = t->out.data;
  *len = t->out.len;
  return DK_OK;
}

void dk_tar_free(dk_tar *t) {
  if (!t)
    return;
  archive_write_free(t->a);
  dk_buf_free(&t->out);
  free(t);
}

int dk_tar_write_dir_fd(int fd, const char *dir) {
  struct archive *w = archive_write_new();
  if (!w)
    return dk__err(DK_ENOMEM, 0, NULL);
  archive_write_set_format_pax_restricted(w);
  int rc = DK_OK;
  if (archive_write_open_fd(w, fd) != ARCHIVE_OK) {
    rc = dk__err(DK_EIO, 0, "tar: %s", archive_error_string(w));
  } else {
    rc = add_tree(w, dir, "", NULL);
    if (archive_write_close(w) != ARCHIVE_OK && !rc)
      rc = dk__err(DK_EIO, 0, "tar: %s", archive_error_string(w));
  }
  archive_write_free(w);
  return rc;
}

/* A name is safe when it is relative and never climbs with "..". */
static int name_is_safe(const char *p) {
  if (!p || !*p || p[0] == '/')
    return 0;
  const char *s = p;
  while (*s) {
    const char *e = s + strcspn(s, "/");
    if (e - s == 2 && s[0] == '.' && s[1] == '.')
      return 0;
    s = *e ? e + 1 : e;
  }
  return 1;
}

/* A symlink target is safe when, resolved lexically from the link's
 * directory, it stays inside the root. */
static int link_is_safe(const char *name, const char *target) {
  if (!target || target[0] == '/')
    return 0;
  int depth = 0;
  for (const char *s = name; *s;) {
    const char *e = s + strcspn(s, "/");
    if (*e)
      depth++; /* directories above the link */
    s = *e ? e + 1 : e;
  }
  for (const char *s = target; *s;) {
    const char *e = s + strcspn(s, "/");
    size_t n = (size_t)(e - s);
    if (n == 2 && s[0] == '.' && s[1] == '.')
      depth--;
    else if (n > 0 && !(n == 1 && s[0] == '.'))
      depth++;
    if (depth < 0)
      return 0;
    s = *e ? e + 1 : e;
  }
  return 1;
}

/* Refuses an entry that would land outside the target: a name with "..",
 * a symlink or hard link pointing out, or a device, fifo or socket. */
static int entry_check(struct archive_entry *e) {
  const char *name = archive_entry_pathname(e);
  mode_t type = archive_entry_filetype(e);
  if (!name_is_safe(name))
    return dk__err(DK_EINVAL, 0, "tar: entry '%s' would land outside the target", name);
  if (type == AE_IFLNK && !link_is_safe(name, archive_entry_symlink(e)))
    return dk__err(DK_EINVAL, 0, "tar: symlink '%s' -> '%s' points outside the target", name,
                   archive_entry_symlink(e));
  if (archive_entry_hardlink(e) && !name_is_safe(archive_entry_hardlink(e)))
    return dk__err(DK_EINVAL, 0, "tar: hard link '%s' points outside the target", name);
  if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && !archive_entry_hardlink(e))
    return dk__err(DK_EINVAL, 0, "tar: entry '%s' is a device, fifo or socket", name);
  return DK_OK;
}

/* The caps of one extraction and what it has counted so far. */
typedef struct extract_caps {
  uint64_t max_bytes, max_entries, max_depth;
  uint64_t bytes, entries;
} extract_caps;

/* Directory levels of an entry's path: its parents, and itself when it is
 * a directory ("" and "." components do not count). */
static uint64_t path_depth(const char *name, int is_dir) {
  uint64_t n = 0;
  for (const char *s = name; *s;) {
    const char *e = s + strcspn(s, "/");
    size_t len = (size_t)(e - s);
    if (len > 0 && !(len == 1 && s[0] == '.'))
      n++;
    s = *e ? e + 1 : e;
  }
  return n > 0 && !is_dir ? n - 1 : n;
}

/* Counts an entry against the caps before anything of it is written;
 * *declared gets its size. The numbers come before the name in the
 * messages: a long name cut by the caller's buffer keeps them. */
static int entry_caps(extract_caps *c, struct archive_entry *e, uint64_t *declared) {
  const char *name = archive_entry_pathname(e);
  *declared = 0;
  if (++c->entries > c->max_entries)
    return dk__err(DK_ETOOBIG, 0, "tar: more than the cap of %llu entries, at '%s'",
                   (unsigned long long)c->max_entries, name);
  uint64_t depth = path_depth(name, archive_entry_filetype(e) == AE_IFDIR);
  if (depth > c->max_depth)
    return dk__err(DK_ETOOBIG, 0,
                   "tar: an entry %llu directory levels deep passes the cap of %llu levels: '%s'",
                   (unsigned long long)depth, (unsigned long long)c->max_depth, name);
  la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  *declared = size > 0 ? (uint64_t)size : 0;
  if (*declared > c->max_bytes - c->bytes)
    return dk__err(DK_ETOOBIG, 0,
                   "tar: an entry of %llu bytes passes the cap of %llu bytes (%llu before it; a "
                   "sparse entry counts at its full size): '%s'",
                   (unsigned long long)*declared, (unsigned long long)c->max_bytes,
                   (unsigned long long)c->bytes, name);
  return DK_OK;
}

/* Writes a checked entry re-rooted under dest, with its data; counts its
 * bytes as they are written (a block that would end past the cap is not
 * written), whatever its header declared. */
static int entry_extract(struct archive *r, struct archive *w, struct archive_entry *e,
                         const char *dest, extract_caps *c, uint64_t declared) {
  /* A copy: archive_entry_set_pathname below frees the entry's own string,
   * and the name is still wanted for the error messages. */
  char name[PATH_MAX];
  snprintf(name, sizeof name, "%s", archive_entry_pathname(e));
  char cwd_dest[PATH_MAX];
  int n = snprintf(cwd_dest, sizeof cwd_dest, "%s/%s", dest, name);
  if (n < 0 || (size_t)n >= sizeof cwd_dest)
    return dk__err(DK_EINVAL, 0, "tar: entry '%s' is too long a path", name);
  archive_entry_set_pathname(e, cwd_dest);
  if (archive_entry_hardlink(e)) {
    char hl[PATH_MAX];
    snprintf(hl, sizeof hl, "%s/%s", dest, archive_entry_hardlink(e));
    archive_entry_set_hardlink(e, hl);
  }
  int ar = archive_write_header(w, e);
  if (ar < ARCHIVE_WARN)
    return dk__err(DK_EIO, 0, "tar: %s: %s", name, archive_error_string(w));
  const void *buf;
  size_t size;
  la_int64_t off;
  uint64_t room = c->max_bytes - c->bytes, end = declared;
  while ((ar = archive_read_data_block(r, &buf, &size, &off)) == ARCHIVE_OK) {
    if (off < 0 || (uint64_t)off > room || size > room - (uint64_t)off)
      return dk__err(DK_ETOOBIG, 0,
                     "tar: data past the cap of %llu bytes (a sparse entry counts at its full "
                     "size): '%s'",
                     (unsigned long long)c->max_bytes, name);
    if ((uint64_t)off + size > end)
      end = (uint64_t)off + size;
    if (archive_write_data_block(w, buf, size, off) < ARCHIVE_WARN)
      return dk__err(DK_EIO, 0, "tar: %s: %s", name, archive_error_string(w));
  }
  if (ar != ARCHIVE_EOF)
    return dk__err(DK_EIO, 0, "tar: %s: %s", name, archive_error_string(r));
  c->bytes += end;
  if (archive_write_finish_entry(w) < ARCHIVE_WARN)
    return dk__err(DK_EIO, 0, "tar: %s: %s", name, archive_error_string(w));
  return DK_OK;
}

static uint64_t cap_or(uint64_t v, uint64_t def) { return v ? v : def; }

int dk_tar_extract_opts(const void *data, size_t len, const char *dest,
                        const dk_tar_extract_options *opts) {
  extract_caps caps = {
      .max_bytes = cap_or(opts ? opts->max_bytes : 0, DK_TAR_DEFAULT_MAX_BYTES),
      .max_entries = cap_or(opts ? opts->max_entries : 0, DK_TAR_DEFAULT_MAX_ENTRIES),
      .max_depth = cap_or(opts ? opts->max_depth : 0, DK_TAR_DEFAULT_MAX_DEPTH),
  };
  struct archive *r = archive_read_new();
  struct archive *w = archive_write_disk_new();
  if (!r || !w) {
    archive_read_free(r);
    archive_write_free(w);
    return dk__err(DK_ENOMEM, 0, NULL);
  }
  archive_read_support_format_tar(r);
  archive_read_support_format_gnutar(r);
  archive_read_support_filter_all(r);
  /* Entries are checked by name first (so the error names the entry), then
   * re-rooted under dest; SECURE_* make libarchive also refuse ".." and
   * writing through a symlink already on disk. Holes of a sparse entry are
   * skipped with a seek, never written as zeros. */
  archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                        ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                        ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  int rc = DK_OK;
  if (archive_read_open_memory(r, data, len) != ARCHIVE_OK) {
    rc = dk__err(DK_EIO, 0, "tar: %s", archive_error_string(r));
    goto done;
  }
  for (;;) {
    struct archive_entry *e;
    int ar = archive_read_next_header(r, &e);
    if (ar == ARCHIVE_EOF)
      break;
    if (ar < ARCHIVE_WARN) {
      rc = dk__err(DK_EIO, 0, "tar: %s", archive_error_string(r));
      break;
    }
    uint64_t declared = 0;
    rc = entry_check(e);
    if (!rc)
      rc = entry_caps(&caps, e, &declared);
    if (!rc)
      rc = entry_extract(r, w, e, dest, &caps, declared);
    if (rc)
      break;
  }
done:
  archive_read_free(r);
  archive_write_close(w);
  archive_write_free(w);
  return rc;
}

int dk_tar_extract(const void *data, size_t len, const char *dest) {
  return dk_tar_extract_opts(data, len, dest, NULL);
}
