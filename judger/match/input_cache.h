/* The host's input cache: the files matches hand their game logic at
 * /inputs/<name> (match_spec.h "inputs", docs/match-spec.md "Inputs"),
 * kept once per host as <state_dir>/inputs/<sha256>.
 *
 * The directory is 0700, opened without following a link, and every file
 * in it is reached relative to it (O_NOFOLLOW): a file is written to an
 * O_EXCL temporary, its sha256 checked, made 0444, then renamed to its
 * hash, so a name in the cache is always a whole file of that hash. A
 * fetch of one hash is done under that hash's flock
 * (<state_dir>/inputs/<sha256>.lock): two slots wanting it fetch once. A
 * match holds a shared flock on each file it mounts until its teardown;
 * `judger gc` removes files not used for a day that nobody holds. */
#ifndef JD_INPUT_CACHE_H
#define JD_INPUT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/policy.h"
#include "dockerapi/dockerapi.h"

/* Defaults of the settings input_max_bytes and publish_max_bytes. */
#define JD_INPUT_MAX_BYTES_DEFAULT ((int64_t)256 << 20)
#define JD_PUBLISH_MAX_BYTES_DEFAULT ((int64_t)16 << 20)
/* Cache files not used this long are removed by `judger gc`. */
#define JD_INPUT_GC_AGE_MS ((int64_t)24 * 3600 * 1000)

/* True when s is 64 lower-case hex characters. */
bool jd_sha256_hex_ok(const char *s);
/* True when name is a valid input name: [A-Za-z0-9._-], no leading dot,
 * 1 to 128 characters. */
bool jd_input_name_ok(const char *name);

/* Makes sure the cache holds url's bytes of hash sha256: a hit touches the
 * file; a miss downloads (libcurl, the tarball sources' rules: policy's
 * schemes, public addresses unless fetch_private, no proxy, redirects
 * checked alike), at most max_bytes counted while reading, under the
 * hash's lock. *fetched: this call downloaded (false on a hit, also one
 * another caller fetched while this one waited). A refused URL, an HTTP
 * error, more than max_bytes or another hash is the spec's fault
 * (JD_FAIL_PROGRAM; "sha256 mismatch: got <hex>"), nothing kept; the disk
 * or memory JD_FAIL_SYSTEM. cancel (may be NULL) stops a download. */
int jd_input_fetch(bool *fetched, const char *state_dir, const jd_policy *policy, const char *url,
                   const char *sha256, int64_t max_bytes, const dk_cancel *cancel,
                   jd_fail_kind *kind, char *err, size_t errlen);

/* Puts len bytes whose sha256 must be sha256 into the cache (a published
 * output resolved by the daemon), under the hash's lock; a file already
 * there is kept. Another hash: -1 with "sha256 mismatch: got <hex>"
 * (kind PROGRAM); the disk: kind SYSTEM. */
int jd_input_put(const char *state_dir, const char *sha256, const void *data, size_t len,
                 jd_fail_kind *kind, char *err, size_t errlen);

/* Opens the cache file of sha256 for a match: O_RDONLY|O_NOFOLLOW, a
 * regular file of ours, mode 0444, holding a shared flock while *fd is
 * open (gc leaves it), its times touched. path gets its full name (the
 * bind's source). *missing: no such file (else a failure is the disk's or
 * a file that is not what the cache writes). */
int jd_input_open(int *fd, bool *missing, char *path, size_t pathlen, const char *state_dir,
                  const char *sha256, char *err, size_t errlen);

/* Removes the cache files not used for max_age_ms that no match holds, and
 * anything in the directory the cache does not write (temporaries as old
 * that nobody writes, links, other names). *removed, *bytes: the cache
 * files that went (dry_run: would go; nothing is removed). */
int jd_input_gc(size_t *removed, int64_t *bytes, const char *state_dir, int64_t max_age_ms,
                bool dry_run, char *err, size_t errlen);

#endif
