/* The progress events of a match, typed.
 *
 * One list (JD_EVENT_MAP) gives the enum, the name each event carries in
 * JSON ("event") and what it says. Inside the judger an event travels as a
 * jd_match_event (a tag and the fields of its kind); it becomes JSON only
 * at the edges, with jd_match_event_json(): `judger run --json`'s stderr
 * lines and the daemon's progress in Redis (docs/match-spec.md, Progress).
 * A switch over jd_match_event_type is checked by the compiler; a string
 * comparison on the JSON is not. */
#ifndef JD_MATCH_EVENT_H
#define JD_MATCH_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/verdict.h"
#include "match/match_result.h"

/* code, name in JSON, what it says (and its fields). */
#define JD_EVENT_MAP(XX)                                                                           \
  XX(MATCH_PREPARE, "match.prepare", "the programs are being prepared (run: the run key)")         \
  XX(PROGRAM_BUILD, "program.build", "one line of a program's build (program, line)")              \
  XX(PROGRAM_READY, "program.ready", "an AI's program is ready (ai, id, cancelled)")               \
  XX(GAME_LOGIC_STARTED, "game_logic.started", "the game logic runs (name)")                       \
  XX(PLAYER_STARTED, "player.started", "an instance of a player runs (name, ai)")                  \
  XX(GAME_LOGIC_EXITED, "game_logic.exited", "the game logic ended (verdict, exit_code, message)") \
  XX(PLAYER_EXITED, "player.exited", "an instance ended (name, ai, verdict, exit_code, message)")  \
  XX(COMMAND_REFUSED, "command.refused", "a command of the game logic was refused (reason)")       \
  XX(MATCH_PROGRESS, "match.progress", "the game logic's progress command, its fields as sent")    \
  XX(MATCH_END, "match.end", "the game logic ended the match (scores)")                            \
  XX(MATCH_DONE, "match.done", "the result is out (status)")                                       \
  XX(BUILD_OUTPUT, "build.output", "a build task wrote a line: activity only (daemon)")            \
  XX(MATCH_FRAME, "match.frame", "a frame the game logic sent (data)")

typedef enum jd_match_event_type {
#define JD_EVENT_ENUM(code, name, text) JD_EVENT_##code,
  JD_EVENT_MAP(JD_EVENT_ENUM)
#undef JD_EVENT_ENUM
      JD_EVENT_COUNT
} jd_match_event_type;

/* The name in JSON ("player.started"); "unknown" past the list. */
const char *jd_match_event_name(jd_match_event_type t);
/* What the event says, for docs and logs. */
const char *jd_match_event_text(jd_match_event_type t);

/* One event. Strings are borrowed: valid during the call that hands the
 * event over (a hook), never kept past it. */
typedef struct jd_match_event {
  jd_match_event_type type;
  const char *match_id; /* NULL: no match (build.output) */
  int64_t elapsed_ms;   /* since the match began */
  int64_t seq;          /* 1, 2, 3... per match in emit order (set by jd_match_emit) */
  /* The instance (started, exited: its name; ai -1 for the game logic), or
   * the AI a program.ready is about (name NULL). */
  const char *name;
  int ai;
  union {
    struct {
      const char *run; /* the run key */
    } prepare;
    struct {
      const char *program; /* "ai-<id>" or "game_logic-<id>" */
      const char *line;    /* a program's bytes: cleaned when serialised */
    } build;
    struct {
      const char *id;
      bool cancelled; /* its build failed */
    } ready;
    struct {
      jd_verdict verdict;
      int64_t exit_code;
      const char *message; /* NULL: none */
    } exited;
    struct {
      const char *reason;
    } refused;
    struct {
      const char *json; /* the progress command's object, compact JSON */
    } progress;
    struct {
      const double *scores;
      size_t nscores;
    } end;
    struct {
      jd_match_status status;
    } done;
    struct {
      const char *json; /* the frame's data, cleaned compact JSON */
    } frame;
  };
} jd_match_event;

/* The event as one line of compact JSON ({"event":...,"match_id":...,
 * "elapsed_ms":...,"seq":...}, docs/match-spec.md; a match.frame then has
 * "data", its frame's JSON as is): 0 with *out (the caller frees),
 * or -1 on out of memory or a progress event whose fields are not a JSON
 * object (such an event is not reported). */
int jd_match_event_json(char **out, const jd_match_event *ev);

#endif
