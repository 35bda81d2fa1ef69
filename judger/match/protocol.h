/* The match pipe protocol (docs/protocol.md), as a pure module: parsing the
 * game logic's command lines, formatting the judger's event lines, splitting
 * a byte stream into capped lines. No I/O here, so every rule is
 * unit-tested.
 *
 * Commands, one per line, JSON objects:
 *   {"cmd":"start","name":"p0","ai":0}
 *   {"cmd":"stop","name":"p0"}
 *   {"cmd":"progress", ...any numbers...}
 *   {"cmd":"end","scores":[10,3],"messages":["ok","bad move"]}
 *   {"cmd":"frame","data":<any JSON value>}       text: frame <JSON value>
 * or Hiper's text forms: "create_player NAME INDEX", "remove_player NAME",
 * "end_match <JSON object with scores, or JSON array of scores>".
 */
#ifndef JD_PROTOCOL_H
#define JD_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/verdict.h"

/* A player name: [A-Za-z0-9][A-Za-z0-9_-]*, at most this long, not "game"
 * (it is a DNS alias on the match network and part of a container name);
 * start and stop commands with another name are refused. */
#define JD_PROTO_NAME_MAX 32
/* Bytes of an offending line echoed back in a "refused" event. */
#define JD_PROTO_ECHO_MAX 200
/* Bytes of one "end" message kept (valid UTF-8, cut on a character). */
#define JD_PROTO_MESSAGE_MAX 1024
/* Nesting of a progress command passed on (deeper parts become null). */
#define JD_PROTO_PROGRESS_DEPTH 8
/* Nesting of a frame's data passed on (deeper parts become null). */
#define JD_PROTO_FRAME_DEPTH 16
#define JD_PROTO_DEFAULT_LINE_MAX ((size_t)64 * 1024)

/* Budget of one turn command, at most (1 hour). */
#define JD_PROTO_BUDGET_MAX_MS ((int64_t)3600 * 1000)

/* turn / turn_end (docs/protocol.md "Turn clocks"):
 *   {"cmd":"turn","name":"p0","budget_ms":100}   text: turn p0 100
 *   {"cmd":"turn_end","name":"p0"}                text: turn_end p0
 * either "name" or "ai" (the AI's one running instance) names the player;
 * budget_ms is optional (the spec's limits.turn_ms). */
typedef enum {
  JD_CMD_START,
  JD_CMD_STOP,
  JD_CMD_PROGRESS,
  JD_CMD_END,
  JD_CMD_TURN,
  JD_CMD_TURN_END,
  JD_CMD_FRAME
} jd_cmd_type;

typedef struct jd_proto_cmd {
  jd_cmd_type type;
  char name[JD_PROTO_NAME_MAX + 1]; /* start, stop; turn, turn_end: "" when named by ai */
  int ai;                           /* start; turn, turn_end: -1 when named by name */
  int64_t budget_ms;                /* turn: 0..JD_PROTO_BUDGET_MAX_MS, -1 = not given */
  char *progress_json;              /* progress: the command object, compact JSON */
  char *frame_json;                 /* frame: the data value, cleaned, compact JSON */
  double *scores;                   /* end: nais scores, AI-list order */
  size_t nscores;
  char **messages; /* end: nais strings or NULLs; NULL if none given */
} jd_proto_cmd;

/* Parses one line (without its newline; a trailing '\r' and surrounding
 * blanks are ignored) of a match with nais AIs. Returns 0 with *out filled
 * (free with jd_proto_cmd_clear), or -1 with a one-line reason in err. */
int jd_proto_parse(jd_proto_cmd *out, const char *line, size_t len, int nais, char *err,
                   size_t errlen);
void jd_proto_cmd_clear(jd_proto_cmd *c);

/* Event lines (judger -> game logic), malloc'd, ending with '\n'; NULL on
 * out of memory. */
char *jd_proto_event_started(const char *name, int ai);
char *jd_proto_event_exited(const char *name, int ai, int64_t exit_code, jd_verdict verdict);
/* line: the offending bytes; only the first JD_PROTO_ECHO_MAX are echoed,
 * with bytes that are not printable ASCII replaced by '?'. */
char *jd_proto_event_refused(const char *line, size_t len, const char *reason);
char *jd_proto_event_cancelled(const char *name, int ai, const char *reason);

/* What a turn came to (turn_ended and timeout events). Times in ms. */
typedef struct jd_proto_turn {
  int64_t turn;      /* 1 for the player's first turn */
  double used_ms;    /* charged to this turn */
  double budget_ms;  /* the turn's budget */
  double bank_ms;    /* the bank left after it */
  double overrun_ms; /* drawn from the bank (used past the budget) */
  const char *clock; /* "cpu" or "wall": the clock that charged (timeout: that ran out) */
} jd_proto_turn;
/* {"event":"turn_ended","name":..,"ai":..,"turn":..,"used_ms":..,"budget_ms":..,
 *  "bank_ms":..,"overrun_ms":..,"clock":..} */
char *jd_proto_event_turn_ended(const char *name, int ai, const jd_proto_turn *t);
/* {"event":"timeout", the same fields, "action":"tle"|"freeze"} */
char *jd_proto_event_timeout(const char *name, int ai, const jd_proto_turn *t, const char *action);

/* Splits a byte stream into lines of at most max bytes. A longer line is
 * delivered once, cut to max bytes, with oversized = true; the rest of it is
 * skipped up to its newline. Empty lines are skipped. */
typedef int (*jd_proto_line_cb)(void *ud, const char *line, size_t len, bool oversized);

typedef struct jd_proto_reader {
  char *buf;
  size_t len;
  size_t max;
  bool skipping;
} jd_proto_reader;

int jd_proto_reader_init(jd_proto_reader *r, size_t max);
/* Returns 0, -1 on out of memory, or the callback's non-zero value. */
int jd_proto_reader_feed(jd_proto_reader *r, const char *data, size_t len, jd_proto_line_cb cb,
                         void *ud);
/* Delivers a last line that had no newline (the game logic closed the pipe). */
int jd_proto_reader_finish(jd_proto_reader *r, jd_proto_line_cb cb, void *ud);
void jd_proto_reader_free(jd_proto_reader *r);

#endif
