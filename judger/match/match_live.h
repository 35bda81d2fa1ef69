/* The live side of a match (private to the match engine): the sequence
 * numbers of its events, its live.jsonl in the out dir (every event but
 * the build's lines, one write(2) per line), and the game logic's frames
 * (size and rate checked, counted). docs/protocol.md "Frames",
 * docs/match-spec.md (limits, result.json "live", live.jsonl).
 *
 * Every call is made under the rule of jd_match_emit: one at a time (the
 * match's thread, or a build thread under the preparation's lock). The
 * file never makes the match wait: a local file written with plain
 * write(2); on an error it stops being written (frames then counted). */
#ifndef JD_MATCH_LIVE_H
#define JD_MATCH_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "match/match_event.h"
#include "match/match_result.h"

#define JD_LIVE_FILE "live.jsonl"

struct jd_match;

typedef struct jd_live_state {
  int fd;          /* live.jsonl; -1: none (limits.live_max_bytes 0, or not opened) */
  bool broken;     /* it could not be opened or written: no more writes */
  int64_t bytes;   /* written to it */
  int64_t seq;     /* the last event's sequence number */
  bool bucket;     /* the rate's bucket is filled (at the first frame) */
  double tokens;   /* frames that may pass now */
  int64_t last_ns; /* jd_mono_ns of the last refill */
  bool logged_size, logged_rate, logged_file;
  jd_live_counts counts;
} jd_live_state;

/* No file yet, nothing counted. */
void jd_live_init(jd_live_state *l);
/* Opens <out_dir>/live.jsonl (created or truncated; never through a link)
 * unless limits.live_max_bytes is 0. A failure is logged and the match
 * goes on without the file (its frames counted in dropped_file). */
void jd_live_open(struct jd_match *m);
/* Closes the file (idempotent). */
void jd_live_close(struct jd_match *m);
/* Whether ev's line goes to the file (jd_match_emit makes the JSON then). */
bool jd_live_wants(const struct jd_match *m, const jd_match_event *ev);
/* Appends ev's JSON line (json, without its newline) to the file. */
void jd_live_write(struct jd_match *m, const jd_match_event *ev, const char *json);
/* The game logic's frame command (json: its cleaned data): dropped and
 * counted past limits.frame_max_bytes or limits.frames_per_sec, else
 * emitted as a match.frame event. */
void jd_match_frame(struct jd_match *m, const char *json);

#endif
