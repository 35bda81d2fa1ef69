/* The match core: what every part of a running match reports to (see
 * match_internal.h): its status (the first one set wins), its progress
 * events, its cancel token and the notes unit threads post to the loop.
 * Preparation, the workspace, the units and the loop call it; it calls
 * none of them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"
#include "match/match_internal.h"

void jd_match_post(jd_match *m, jd_unit *u, note_kind kind) {
  jd_note *n = &u->notes[kind];
  n->kind = kind;
  n->unit = u;
  n->next = NULL;
  pthread_mutex_lock(&m->mu);
  if (m->notes_tail)
    m->notes_tail->next = n;
  else
    m->notes = n;
  m->notes_tail = n;
  pthread_mutex_unlock(&m->mu);
  uint64_t one = 1;
  ssize_t w = write(m->wake_fd, &one, sizeof one);
  (void)w; /* the counter cannot overflow at one write per note */
}

jd_note *jd_match_take_notes(jd_match *m) {
  uint64_t cnt;
  ssize_t r = read(m->wake_fd, &cnt, sizeof cnt);
  (void)r;
  pthread_mutex_lock(&m->mu);
  jd_note *n = m->notes;
  m->notes = m->notes_tail = NULL;
  pthread_mutex_unlock(&m->mu);
  return n;
}

void jd_match_set_status(jd_match *m, jd_match_status status, const char *fmt, ...) {
  if (m->has_status)
    return;
  m->has_status = true;
  m->status = status;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&m->reason, fmt, ap) < 0)
      m->reason = NULL;
    va_end(ap);
  }
}

jd_match_event jd_match_event_of(jd_match_event_type type, const jd_unit *u) {
  jd_match_event ev = {.type = type, .ai = -1};
  if (u) {
    ev.name = u->name;
    ev.ai = u->ai;
  }
  return ev;
}

void jd_match_emit(jd_match *m, jd_match_event *ev) {
  const jd_match_hooks *h = m->hooks;
  ev->match_id = m->spec->id;
  ev->elapsed_ms = jd_unix_ms() - m->started_ms;
  ev->seq = ++m->live.seq; /* emits are serialised (match.h) */
  if (h && h->event)
    h->event(h->ud, ev);
  bool file = jd_live_wants(m, ev);
  bool text = h && h->progress;
  char *line = NULL;
  /* The JSON edge: only for the file or a hook that forwards text. */
  if ((file || text) && !jd_match_event_json(&line, ev)) {
    if (file)
      jd_live_write(m, ev, line);
    if (text)
      h->progress(h->ud, line);
  }
  free(line);
}

bool jd_match_cancel_fired(const jd_match *m) {
  return m->hooks && m->hooks->cancel && dk_cancel_fired(m->hooks->cancel);
}
