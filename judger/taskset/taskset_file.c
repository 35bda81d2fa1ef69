/* The taskset file (see taskset.h): parsed and checked as a whole before
 * anything is queued.
 *
 * The checks run in three passes, each in member order, and the first
 * fault refuses the file:
 *   1. the file's own fields, then each member alone: an object, its
 *      "taskset" (absent or the set's id), the envelope as it will be
 *      queued (jd_task_parse of the text with "taskset" and the set's
 *      max_attempts added: what is queued is what was checked);
 *   2. the links: ids unique in the set, every "after" a member of it
 *      (ids sorted once, looked up by binary search: O(n log n));
 *   3. no cycle through "after" (Kahn's algorithm; a member left over is
 *      on a cycle or waits for one: its dependencies are walked, not
 *      recursed, to the cycle, which the message spells out).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/json_text.h"
#include "taskset/taskset.h"

/* Fields a taskset file may have: anything else is refused (a typo such
 * as "standing" must not pass silently). */
static const char *const set_fields[] = {"id", "priority", "max_attempts", "tasks", "standings"};

/* Past any entry_max_depth a daemon takes (json-c allocates a frame per
 * level up front). */
#define DEPTH_CAP 65536

typedef struct id_ref {
  const char *id;
  size_t i;
} id_ref;

typedef struct file_ctx {
  jd_taskset *ts;
  const char **ids; /* member ids (the tasks' own strings), by index */
  id_ref *sorted;   /* the same, sorted by id, then index */
} file_ctx;

/* The root object, nested at most max_depth levels: 0, or -1 with err. */
static int parse_root(json_object **root, const char *json, int max_depth, char *err,
                      size_t errlen) {
  *root = NULL;
  if (!json)
    return jd_fail(err, errlen, "taskset: no text");
  if (jd_json_parse(root, json, strlen(json), max_depth, "taskset", NULL, err, errlen))
    return -1;
  if (!json_object_is_type(*root, json_type_object))
    return jd_fail(err, errlen, "taskset: not a JSON object");
  return 0;
}

static int check_field_names(json_object *root, char *err, size_t errlen) {
  json_object_object_foreach(root, key, val) {
    (void)val;
    bool known = false;
    for (size_t i = 0; i < sizeof set_fields / sizeof *set_fields; i++)
      known = known || !strcmp(key, set_fields[i]);
    if (!known)
      return jd_fail(err, errlen,
                     "\"%.64s\": not a taskset field (id, priority, max_attempts, tasks, "
                     "standings)",
                     key);
  }
  return 0;
}

/* id, priority, max_attempts, standings (given: *standings_given). */
static int set_fields_parse(jd_taskset *ts, bool *standings_given, json_object *root, char *err,
                            size_t errlen) {
  json_object *v = NULL;
  if (check_field_names(root, err, errlen))
    return -1;
  if (!json_object_object_get_ex(root, "id", &v) || !json_object_is_type(v, json_type_string) ||
      !jd_task_id_valid(json_object_get_string(v)))
    return jd_fail(err, errlen, "id: required, [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d chars",
                   JD_TASK_ID_MAX);
  if (!(ts->id = strdup(json_object_get_string(v))))
    return jd_fail(err, errlen, "out of memory");
  ts->prio = JD_PRIO_AUTO;
  if (json_object_object_get_ex(root, "priority", &v) &&
      (!json_object_is_type(v, json_type_string) ||
       jd_priority_parse(&ts->prio, json_object_get_string(v))))
    return jd_fail(err, errlen, "priority: \"build\", \"match\" or \"auto\"");
  if (json_object_object_get_ex(root, "max_attempts", &v)) {
    int64_t n = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || n < 1 || n > 100)
      return jd_fail(err, errlen, "max_attempts: an integer from 1 to 100");
    ts->max_attempts = (int)n;
  }
  *standings_given = json_object_object_get_ex(root, "standings", &v);
  if (*standings_given) {
    if (!json_object_is_type(v, json_type_boolean))
      return jd_fail(err, errlen, "standings: true or false");
    ts->standings = json_object_get_boolean(v);
  }
  return 0;
}

/* "tasks[3] (m-3): " or "tasks[3]: " when the member has no usable id. */
static void member_prefix(char *out, size_t len, size_t i, json_object *m) {
  json_object *v = NULL;
  const char *id = NULL;
  if (json_object_is_type(m, json_type_object) && json_object_object_get_ex(m, "id", &v) &&
      json_object_is_type(v, json_type_string) && jd_task_id_valid(json_object_get_string(v)))
    id = json_object_get_string(v);
  if (id)
    snprintf(out, len, "tasks[%zu] (%s): ", i, id);
  else
    snprintf(out, len, "tasks[%zu]: ", i);
}

/* Member i's text as it will be queued ("taskset" and the set's
 * max_attempts added to its object m), parsed back: 0, or -1 with the
 * fault (without the member's prefix) in why. */
static int member_parse(jd_taskset_member *mb, const jd_taskset *ts, json_object *m, int max_depth,
                        char *why, size_t whylen) {
  json_object *v = NULL;
  if (!json_object_is_type(m, json_type_object))
    return jd_fail(why, whylen, "not a JSON object");
  if (json_object_object_get_ex(m, "taskset", &v) &&
      (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), ts->id)))
    return jd_fail(why, whylen, "taskset: must be absent or the set's id \"%s\"", ts->id);
  if (json_object_object_add(m, "taskset", json_object_new_string(ts->id)))
    return jd_fail(why, whylen, "out of memory");
  if (ts->max_attempts && !json_object_object_get_ex(m, "max_attempts", NULL) &&
      json_object_object_add(m, "max_attempts", json_object_new_int(ts->max_attempts)))
    return jd_fail(why, whylen, "out of memory");
  const char *text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
  if (!text || !(mb->json = strdup(text)))
    return jd_fail(why, whylen, "out of memory");
  if (strlen(mb->json) > JD_ENTRY_MAX_BYTES_DEFAULT)
    return jd_fail(why, whylen, "the task is over %zu bytes (an entry's cap)",
                   JD_ENTRY_MAX_BYTES_DEFAULT);
  if (jd_task_parse(&mb->task, mb->json, max_depth, why, whylen))
    return -1;
  jd_task_class(mb->klass, sizeof mb->klass, mb->task);
  return 0;
}

/* Pass 1: every member alone. */
static int members_parse(jd_taskset *ts, bool *all_matches, json_object *tasks, int max_depth,
                         char *err, size_t errlen) {
  size_t n = json_object_array_length(tasks);
  ts->members = calloc(n, sizeof *ts->members);
  if (!ts->members)
    return jd_fail(err, errlen, "out of memory");
  *all_matches = true;
  for (size_t i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(tasks, i);
    char prefix[JD_TASK_ID_MAX + 40], why[512];
    member_prefix(prefix, sizeof prefix, i, m);
    ts->n = i + 1;
    if (member_parse(&ts->members[i], ts, m, max_depth, why, sizeof why))
      return jd_fail(err, errlen, "%s%s", prefix, why);
    *all_matches = *all_matches && ts->members[i].task->kind == JD_TASK_MATCH;
  }
  return 0;
}

static int by_id(const void *a, const void *b) {
  const id_ref *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The first member (lowest index) whose id is id, or SIZE_MAX. */
static size_t find_member(const file_ctx *c, const char *id) {
  size_t lo = 0, hi = c->ts->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(c->sorted[mid].id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->ts->n && !strcmp(c->sorted[lo].id, id) ? c->sorted[lo].i : SIZE_MAX;
}

/* Pass 2: unique ids, "after" names members. */
static int links_check(const file_ctx *c, char *err, size_t errlen) {
  for (size_t i = 0; i < c->ts->n; i++) {
    const jd_task *t = c->ts->members[i].task;
    size_t first = find_member(c, t->id);
    if (first != i)
      return jd_fail(err, errlen, "tasks[%zu] (%s): id: also the id of tasks[%zu]", i, t->id,
                     first);
    for (size_t k = 0; k < t->nafter; k++)
      if (find_member(c, t->after[k]) == SIZE_MAX)
        return jd_fail(err, errlen,
                       "tasks[%zu] (%s): after[%zu]: \"%s\" is not a member of the "
                       "taskset",
                       i, t->id, k, t->after[k]);
  }
  return 0;
}

/* The first dependency of member cur still left over (left[d] > 0): one
 * exists for every member Kahn's algorithm left over. */
static size_t next_left(const file_ctx *c, const size_t *left, size_t cur) {
  const jd_task *t = c->ts->members[cur].task;
  for (size_t k = 0; k < t->nafter; k++) {
    size_t d = find_member(c, t->after[k]);
    if (left[d])
      return d;
  }
  return cur;
}

/* Writes "a -> b -> ... -> a" (the cycle through start, following each
 * member's first unfinished dependency) into out, capped. */
static void cycle_text(char *out, size_t len, const file_ctx *c, const size_t *left, size_t start) {
  size_t at = 0, cur = start;
  out[0] = '\0';
  for (size_t steps = 0; steps <= c->ts->n; steps++) {
    int w = snprintf(out + at, len - at, "%s%s", steps ? " -> " : "", c->ids[cur]);
    if (w < 0 || (size_t)w >= len - at) {
      snprintf(out + (len > 5 ? len - 5 : 0), len > 5 ? 5 : len, " ...");
      return;
    }
    at += (size_t)w;
    if (steps && cur == start)
      return;
    cur = next_left(c, left, cur);
  }
}

/* From a member left over by Kahn's algorithm, walk to a dependency also
 * left over until a member repeats: that member is on a cycle. Every
 * left-over member has a left-over dependency, so the walk never stops
 * short; it takes at most n steps. Returns the lowest index on the cycle. */
static size_t cycle_member(const file_ctx *c, const size_t *left, size_t from, bool *seen) {
  size_t cur = from;
  while (!seen[cur]) {
    seen[cur] = true;
    cur = next_left(c, left, cur);
  }
  size_t lowest = cur;
  for (size_t at = next_left(c, left, cur); at != cur; at = next_left(c, left, at))
    lowest = at < lowest ? at : lowest;
  return lowest;
}

/* The dependents of every member, as one flat array (CSR): the
 * dependents of member s are rdep[start[s] .. start[s + 1]). */
static int dependents(size_t **start, size_t **rdep, const file_ctx *c) {
  size_t n = c->ts->n, edges = 0;
  for (size_t i = 0; i < n; i++)
    edges += c->ts->members[i].task->nafter;
  *start = calloc(n + 1, sizeof **start);
  *rdep = calloc(edges ? edges : 1, sizeof **rdep);
  size_t *fill = calloc(n + 1, sizeof *fill);
  if (!*start || !*rdep || !fill) {
    free(fill);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < c->ts->members[i].task->nafter; k++)
      (*start)[find_member(c, c->ts->members[i].task->after[k]) + 1]++;
  for (size_t s = 0; s < n; s++)
    (*start)[s + 1] += (*start)[s];
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < c->ts->members[i].task->nafter; k++) {
      size_t s = find_member(c, c->ts->members[i].task->after[k]);
      (*rdep)[(*start)[s] + fill[s]++] = i;
    }
  free(fill);
  return 0;
}

/* Pass 3: no cycle. left[i] = dependencies of i not yet released. */
static int cycles_check(const file_ctx *c, char *err, size_t errlen) {
  size_t n = c->ts->n, *start = NULL, *rdep = NULL, done = 0;
  size_t *left = calloc(n, sizeof *left), *work = calloc(n, sizeof *work);
  int rc = -1;
  if (!left || !work || dependents(&start, &rdep, c)) {
    jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  size_t nwork = 0;
  for (size_t i = 0; i < n; i++)
    if (!(left[i] = c->ts->members[i].task->nafter))
      work[nwork++] = i;
  while (nwork) {
    size_t s = work[--nwork];
    done++;
    for (size_t e = start[s]; e < start[s + 1]; e++)
      if (--left[rdep[e]] == 0)
        work[nwork++] = rdep[e];
  }
  if (done == n) {
    rc = 0;
    goto cleanup;
  }
  size_t from = 0;
  while (!left[from])
    from++;
  bool *seen = (bool *)work; /* n size_t hold n bools */
  memset(seen, 0, n * sizeof *seen);
  size_t on = cycle_member(c, left, from, seen);
  char text[512];
  cycle_text(text, sizeof text, c, left, on);
  jd_fail(err, errlen, "tasks[%zu] (%s): after: a cycle: %s", on, c->ids[on], text);
cleanup:
  free(left);
  free(work);
  free(start);
  free(rdep);
  return rc;
}

static int links_and_cycles(jd_taskset *ts, char *err, size_t errlen) {
  file_ctx c = {.ts = ts};
  c.ids = calloc(ts->n, sizeof *c.ids);
  c.sorted = calloc(ts->n, sizeof *c.sorted);
  int rc = -1;
  if (!c.ids || !c.sorted) {
    jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < ts->n; i++) {
    c.ids[i] = ts->members[i].task->id;
    c.sorted[i] = (id_ref){c.ids[i], i};
  }
  qsort(c.sorted, ts->n, sizeof *c.sorted, by_id);
  rc = links_check(&c, err, errlen) || cycles_check(&c, err, errlen) ? -1 : 0;
cleanup:
  free(c.ids);
  free(c.sorted);
  return rc;
}

static int taskset_fill(jd_taskset *ts, json_object *root, size_t max_members, int max_depth,
                        char *err, size_t errlen) {
  bool standings_given = false;
  if (set_fields_parse(ts, &standings_given, root, err, errlen))
    return -1;
  json_object *tasks = NULL;
  if (!json_object_object_get_ex(root, "tasks", &tasks) ||
      !json_object_is_type(tasks, json_type_array) || json_object_array_length(tasks) < 1 ||
      json_object_array_length(tasks) > max_members)
    return jd_fail(err, errlen, "tasks: required, an array of 1 to %zu tasks", max_members);
  bool all_matches = true;
  if (members_parse(ts, &all_matches, tasks, max_depth, err, errlen))
    return -1;
  if (!standings_given)
    ts->standings = all_matches;
  return links_and_cycles(ts, err, errlen);
}

int jd_taskset_parse(jd_taskset **out, const char *json, size_t max_members, int max_depth,
                     char *err, size_t errlen) {
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  max_members = max_members ? max_members : JD_TASKSET_MAX_MEMBERS_DEFAULT;
  max_depth = max_depth > 0 ? max_depth : JD_TASK_MAX_DEPTH_DEFAULT;
  max_depth = max_depth < DEPTH_CAP ? max_depth : DEPTH_CAP;
  json_object *root = NULL;
  jd_taskset *ts = calloc(1, sizeof *ts);
  int rc = -1;
  if (!ts)
    jd_fail(err, errlen, "out of memory");
  else if (!parse_root(&root, json, max_depth + 2, err, errlen) &&
           !taskset_fill(ts, root, max_members, max_depth, err, errlen)) {
    *out = ts;
    ts = NULL;
    rc = 0;
  }
  jd_taskset_free(ts);
  json_object_put(root);
  return rc;
}

void jd_taskset_free(jd_taskset *ts) {
  if (!ts)
    return;
  for (size_t i = 0; i < ts->n; i++) {
    jd_task_free(ts->members[i].task);
    free(ts->members[i].json);
  }
  free(ts->members);
  free(ts->id);
  free(ts);
}
