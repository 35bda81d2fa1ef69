/* The text form of one entry of a match's live stream (an event's JSON:
 * docs/match-spec.md, Progress; `{"event":"live.begin",...}` of a daemon's
 * attempt), shared by `judger watch` and `judger run --watch`:
 *
 *   [   1.23s] frame {"turn":3}
 *   [   0.10s] player p0 started (AI 0)
 *   [  12.00s] match end scores [1,0]
 *   [  12.10s] done: finished
 *   [       -] attempt 2
 *
 * The time is the entry's elapsed_ms. Everything printed is cleaned for a
 * terminal: invalid UTF-8 becomes U+FFFD and every control character
 * (newline too) is escaped, so an entry is exactly one line. An entry that
 * is not a JSON object is shown as such ("(not JSON) ..." with its first
 * bytes), never trusted. */
#ifndef JD_WATCH_PRINT_H
#define JD_WATCH_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The longest entry looked at (a frame is at most 1 MiB of data). */
#define JD_WATCH_ENTRY_MAX (4u << 20)
/* The bytes of a bad entry shown. */
#define JD_WATCH_BAD_SHOWN 200

/* What a watcher needs to know of an entry. */
typedef struct jd_watch_info {
  bool ok;         /* a JSON object with a string "event" */
  bool done;       /* "match.done": the stream ends here */
  bool begin;      /* "live.begin": a (new) attempt of the task */
  bool frame;      /* "match.frame" */
  int64_t attempt; /* live.begin's attempt (0: none given) */
  int64_t seq;     /* the entry's seq (0: none) */
} jd_watch_info;

/* Reads the entry json[0..len) (json[len] is a NUL, as in every function
 * here) into *info without printing. */
void jd_watch_info_of(jd_watch_info *info, const char *json, size_t len);

/* The text line of the entry json[0..len), with its newline, into *out
 * (the caller frees). 0, or -1 when memory runs out. info may be NULL. */
int jd_watch_text(char **out, jd_watch_info *info, const char *json, size_t len);

/* Prints the entry to f and flushes f (a pipe's reader sees each entry at
 * once): its text line, or with as_json its JSON on one line (as it came
 * when it is a JSON object on one line in valid UTF-8, else re-serialised
 * compact; an entry that is not a JSON object is left out of the JSON
 * output and said on stderr). info may be NULL. 0, or -1 when the write
 * fails (the reader went away) or memory runs out. */
int jd_watch_print(FILE *f, jd_watch_info *info, const char *json, size_t len, bool as_json);

#endif
