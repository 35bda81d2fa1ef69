/* A queued task: the JSON envelope a stream entry carries (docs/queue.md).
 *
 *   {"id": "m-981", "type": "match", "match": {<judger run spec>},
 *    "upload": {"replay.json": "http://...", "player_0.log": "http://..."},
 *    "max_attempts": 3}
 *   {"id": "b-12", "type": "build", "build": {<build request>}}
 *
 * This module checks the envelope only; the executor validates the inner
 * build request or match spec (see daemon.h).
 */
#ifndef JD_TASK_H
#define JD_TASK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { JD_TASK_BUILD, JD_TASK_MATCH } jd_task_kind;

#define JD_TASK_ID_MAX 128

/* What a run of a task came to, as stored in its result, its status record
 * and the results stream (docs/queue.md). One list gives the enum and the
 * stored names, so a status can never lack its name. */
#define JD_TASK_STATUS_MAP(XX)                                                                     \
  XX(FINISHED, "finished", "ran to its end (a build: built)")                                      \
  XX(FAILED, "failed", "the program's fault (a build that does not compile, a broken match)")      \
  XX(ERROR, "error", "the judger's or the engine's fault")                                         \
  XX(CANCELLED, "cancelled", "cancelled before its end")                                           \
  XX(STALLED, "stalled", "ended by the daemon: no progress for stall_ms")

typedef enum jd_task_status {
#define JD_TASK_STATUS_ENUM(code, name, text) JD_TASK_STATUS_##code,
  JD_TASK_STATUS_MAP(JD_TASK_STATUS_ENUM)
#undef JD_TASK_STATUS_ENUM
      JD_TASK_STATUS_COUNT
} jd_task_status;

/* "finished", "failed"...; "?" for a value outside the enum. Static storage. */
const char *jd_task_status_name(jd_task_status s);
/* The status named s (exact): 0, or -1 for any other string (or NULL). */
int jd_task_status_parse(jd_task_status *out, const char *s);

typedef struct jd_upload {
  char *path; /* relative to the task's output directory, no ".." */
  char *url;  /* http(s) pre-signed PUT URL */
  bool gzip;  /* logs (*.log) are gzipped before upload */
} jd_upload;

typedef struct jd_task {
  char *id;
  jd_task_kind kind;
  /* The "build" or "match" object, parsed once here and handed on as it is
   * (the executor's prepare() reads it; nothing turns it back into text).
   * A reference of the task's own, dropped by jd_task_free(). */
  struct json_object *spec;
  jd_upload *uploads;
  size_t nuploads;
  int max_attempts; /* 0 = the daemon's setting */
  /* Taskset links (docs/tasksets.md), all optional: */
  char *taskset; /* "taskset": the set it belongs to (written by the set's submit); NULL */
  char *klass;   /* "class": its ETA class (a task id's charset); NULL: derived */
  char **after;  /* "after": ids of tasks of its set it waits for */
  size_t nafter;
  char **publish; /* "publish": outputs kept in Redis for dependents (upload's path rule) */
  size_t npublish;
} jd_task;

#define JD_TASK_AFTER_MAX 16
#define JD_TASK_PUBLISH_MAX 8
#define JD_TASK_CLASS_MAX 128

/* How deep an entry's JSON may nest (setting entry_max_depth): the match
 * spec's config is any JSON, so the cap is far above json-c's default 32. */
#define JD_TASK_MAX_DEPTH_DEFAULT 256

/* Parses and validates an envelope, nested at most max_depth levels (0 =
 * JD_TASK_MAX_DEPTH_DEFAULT). Returns 0 and *out, or -1 with a reason
 * naming the bad field in err ("task: not JSON", "task: valid JSON but not
 * an object", "task: nested deeper than N levels"...). The caller frees
 * *out with jd_task_free(). */
int jd_task_parse(jd_task **out, const char *json, int max_depth, char *err, size_t errlen);
void jd_task_free(jd_task *t);

/* Task ids: [A-Za-z0-9][A-Za-z0-9_.-]*, at most JD_TASK_ID_MAX chars; they
 * become parts of Redis keys and of directory names. */
bool jd_task_id_valid(const char *id);
/* A relative path inside a task's output directory: not absolute, no "." or
 * ".." component, no empty one, at most 255 bytes (upload and publish). */
bool jd_task_out_path_ok(const char *p);
/* The task's ETA class: its "class", else "match-<game_logic id>-<n>p" or
 * "build-<domain>" (any byte outside the id charset becomes '_'); always a
 * valid id of at most len - 1 bytes (len > 1). */
void jd_task_class(char *out, size_t len, const jd_task *t);
const char *jd_task_kind_name(jd_task_kind k);

#endif
