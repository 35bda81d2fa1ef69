/* The pipe loop of a match: one thread, poll(2) on the command FIFO, the
 * event FIFO (when events wait) and an eventfd the unit threads post to.
 * It never blocks on the engine: every engine call is a unit thread's. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/util.h"
#include "match/match_clock.h"
#include "match/match_internal.h"
#include "match/warm.h"

/* Events waiting for a game logic that does not read them are capped. */
#define EV_QUEUE_MAX ((size_t)1 << 20)
/* How often a cancel token is looked at (a dk_cancel has no fd to poll). */
#define CANCEL_CHECK_MS 100
/* Bytes of command input taken per loop turn, so a flood of commands
 * cannot starve unit notes. */
#define CMD_READ_BUDGET ((size_t)256 * 1024)
/* Refused commands written to the judger's log per match. */
#define REFUSALS_LOGGED 20

/* ---- events to the game logic ----------------------------------------- */

static jd_unit *gl_unit(jd_match *m) { return m->nunits ? m->units[0] : NULL; }

static void flush_events(jd_match *m) {
  while (m->ev_out.len) {
    ssize_t w = write(m->ev_fd, m->ev_out.data, m->ev_out.len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        jd_log(JD_LOG_WARN, "match.events", "%s: writing events: %s", m->run_key, strerror(errno));
      return;
    }
    memmove(m->ev_out.data, m->ev_out.data + w, m->ev_out.len - (size_t)w);
    m->ev_out.len -= (size_t)w;
  }
}

/* Queues one event line (owned) for the game logic. */
static void send_event(jd_match *m, char *line) {
  if (!line)
    return;
  jd_unit *gl = gl_unit(m);
  size_t len = strlen(line);
  if (!gl || gl->state == UNIT_DONE) {
    /* Nobody left to read it. */
  } else if (m->ev_out.len + len > EV_QUEUE_MAX) {
    /* Once, then every 10 000th: a game logic that reads nothing while it
     * floods commands must not flood the judger's log. */
    if (m->events_dropped++ % 10000 == 0)
      jd_log(JD_LOG_WARN, "match.events",
             "%s: the game logic does not read its events; %zu dropped so far, this one: %.200s",
             m->run_key, m->events_dropped, line);
  } else {
    dk_buf_append(&m->ev_out, line, len);
    flush_events(m);
  }
  free(line);
}

static void refuse(jd_match *m, const char *line, size_t len, const char *reason) {
  /* The judger's own log gets printable bytes only, like the event. */
  char echo[121];
  size_t n = len < 120 ? len : 120;
  for (size_t i = 0; i < n; i++)
    echo[i] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
  echo[n] = '\0';
  /* A game logic sending garbage must not flood the judger's own log. */
  if (++m->refusals <= REFUSALS_LOGGED)
    jd_log(JD_LOG_INFO, "match.refused", "%s: %s: %s%s", m->run_key, reason, echo,
           m->refusals == REFUSALS_LOGGED ? " (further refusals are not logged)" : "");
  send_event(m, jd_proto_event_refused(line, len, reason));
  jd_match_event ev = jd_match_event_of(JD_EVENT_COMMAND_REFUSED, NULL);
  ev.refused.reason = reason;
  jd_match_emit(m, &ev);
}

/* ---- commands ---------------------------------------------------------- */

/* Asks every unit from first on that is not done to die. */
static void kill_units(jd_match *m, size_t first, jd_kill_reason why) {
  for (size_t i = first; i < m->nunits; i++)
    if (m->units[i]->state != UNIT_DONE)
      jd_unit_request_kill(m->units[i], why);
}

static void kill_players(jd_match *m, jd_kill_reason why) { kill_units(m, 1, why); }

static jd_unit *live_player(jd_match *m, const char *name) {
  for (size_t i = 1; i < m->nunits; i++)
    if (m->units[i]->state != UNIT_DONE && m->units[i]->state != UNIT_WARM &&
        !strcmp(m->units[i]->name, name))
      return m->units[i];
  return NULL;
}

static void on_started(jd_match *m, jd_unit *u);

/* A cold instance of AI ai named name, counted in alive_players by the
 * caller; retire: a warm unit of that name whose removal it waits for, or
 * NULL. Returns 0 (a thread that cannot start is reported as an instance
 * that never ran: UE), or -1 out of memory with nothing done. */
static int start_cold(jd_match *m, int ai, const char *name, jd_unit *retire) {
  jd_unit *u = NULL;
  if (jd_unit_new(&u, m, ai, name))
    return -1;
  u->state = UNIT_STARTING;
  u->retire = retire;
  pthread_mutex_lock(&m->mu);
  const char *gl_id = gl_unit(m)->id;
  u->gl_id = gl_id ? strdup(gl_id) : NULL;
  pthread_mutex_unlock(&m->mu);
  if (jd_unit_spawn(u)) {
    u->engine_error = true;
    u->message = strdup("the judger cannot start a thread");
    u->state = UNIT_DONE;
    u->verdict = JD_VERDICT_UE;
    m->alive_players--;
    send_event(m, jd_proto_event_exited(u->name, u->ai, -1, JD_VERDICT_UE));
  }
  return 0;
}

static void cmd_start(jd_match *m, const jd_proto_cmd *c, const char *line, size_t len) {
  char why[160];
  if (m->ended) {
    refuse(m, line, len, "the match has ended");
    return;
  }
  if (live_player(m, c->name)) {
    snprintf(why, sizeof why, "duplicate name %s", c->name);
    refuse(m, line, len, why);
    return;
  }
  const jd_ready *r = &m->ai_ready[c->ai];
  if (r->cancelled) {
    const char *reason = r->message ? r->message : "build failed";
    send_event(m, jd_proto_event_cancelled(c->name, c->ai, reason));
    return;
  }
  char refused[128];
  if (jd_start_limiter_take(&m->limiter, m->alive_players, jd_mono_ms(), refused, sizeof refused)) {
    refuse(m, line, len, refused);
    return;
  }
  /* Its warm unit, whatever stage it is at (warm.h), else a cold one. */
  jd_unit *u = jd_warm_take(m, c->ai, c->name);
  m->alive_players++;
  if (u) {
    if (u->ready)
      on_started(m, u);
    return;
  }
  if (start_cold(m, c->ai, c->name, jd_warm_conflict(m, c->name))) {
    m->alive_players--;
    refuse(m, line, len, "the judger is out of memory");
  }
}

static void cmd_stop(jd_match *m, const jd_proto_cmd *c, const char *line, size_t len) {
  jd_unit *u = live_player(m, c->name);
  if (!u) {
    char why[80];
    snprintf(why, sizeof why, "no running player named %s", c->name);
    refuse(m, line, len, why);
    return;
  }
  /* A player frozen on a turn that ran out (on_timeout "freeze") and then
   * stopped did not finish its turn: TLE. */
  jd_unit_request_kill(u, jd_clock_timed_out(m, u) ? JD_KILL_TURN : JD_KILL_STOP);
}

/* The player a turn command names: by name, or the one running instance
 * of an AI. NULL with the reason in why. */
static jd_unit *turn_player(jd_match *m, const jd_proto_cmd *c, char *why, size_t whylen) {
  if (c->name[0]) {
    jd_unit *u = live_player(m, c->name);
    if (!u)
      snprintf(why, whylen, "no running player named %s", c->name);
    return u;
  }
  jd_unit *found = NULL;
  int n = 0;
  for (size_t i = 1; i < m->nunits; i++) {
    jd_unit *u = m->units[i];
    if (u->ai == c->ai && u->state != UNIT_DONE && u->state != UNIT_WARM) {
      found = u;
      n++;
    }
  }
  if (n != 1)
    snprintf(why, whylen, "AI %d has %d running instances (a turn by \"ai\" needs exactly one)",
             c->ai, n);
  return n == 1 ? found : NULL;
}

static void cmd_turn(jd_match *m, const jd_proto_cmd *c, const char *line, size_t len) {
  char why[200];
  if (m->ended) {
    refuse(m, line, len, "the match has ended");
    return;
  }
  jd_unit *u = turn_player(m, c, why, sizeof why);
  int rc = !u                       ? -1
           : c->type == JD_CMD_TURN ? jd_clock_turn(m, u, c->budget_ms, why, sizeof why)
                                    : jd_clock_turn_end(m, u, why, sizeof why);
  if (rc)
    refuse(m, line, len, why);
}

static void cmd_end(jd_match *m, jd_proto_cmd *c, const char *line, size_t len) {
  if (m->ended) {
    refuse(m, line, len, "the match has already ended");
    return;
  }
  m->ended = true;
  m->scores = c->scores;
  m->messages = c->messages;
  c->scores = NULL;
  c->messages = NULL;
  jd_match_set_status(m, JD_MATCH_STATUS_FINISHED, NULL);
  /* Players have nothing left to do; the game logic gets a grace period to
   * write its replay and exit by itself. */
  kill_players(m, JD_KILL_END);
  jd_unit *gl = gl_unit(m);
  if (gl && gl->state != UNIT_DONE)
    m->grace_deadline = jd_mono_ms() + m->spec->limits.end_grace_ms;
  jd_match_event ev = jd_match_event_of(JD_EVENT_MATCH_END, NULL);
  ev.end.scores = m->scores;
  ev.end.nscores = m->spec->nplayers;
  jd_match_emit(m, &ev);
}

static int on_line(void *ud, const char *line, size_t len, bool oversized) {
  jd_match *m = ud;
  if (oversized) {
    char why[96];
    snprintf(why, sizeof why, "line longer than %zu bytes", m->spec->limits.line_max);
    refuse(m, line, len, why);
    return 0;
  }
  jd_proto_cmd c;
  char err[256];
  if (jd_proto_parse(&c, line, len, (int)m->spec->nplayers, err, sizeof err)) {
    refuse(m, line, len, err);
    return 0;
  }
  switch (c.type) {
  case JD_CMD_START:
    cmd_start(m, &c, line, len);
    break;
  case JD_CMD_STOP:
    cmd_stop(m, &c, line, len);
    break;
  case JD_CMD_END:
    cmd_end(m, &c, line, len);
    break;
  case JD_CMD_TURN:
  case JD_CMD_TURN_END:
    cmd_turn(m, &c, line, len);
    break;
  case JD_CMD_PROGRESS: {
    jd_match_event ev = jd_match_event_of(JD_EVENT_MATCH_PROGRESS, NULL);
    ev.progress.json = c.progress_json;
    jd_match_emit(m, &ev);
    break;
  }
  case JD_CMD_FRAME:
    jd_match_frame(m, c.frame_json);
    break;
  }
  jd_proto_cmd_clear(&c);
  return 0;
}

static void read_commands(jd_match *m) {
  char buf[16384];
  size_t budget = CMD_READ_BUDGET;
  while (budget) {
    ssize_t n = read(m->cmd_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; /* EAGAIN: drained (we hold a write end too: never EOF) */
    jd_proto_reader_feed(&m->reader, buf, (size_t)n, on_line, m);
    budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
  }
}

/* ---- unit notes -------------------------------------------------------- */

static void on_started(jd_match *m, jd_unit *u) {
  if (u->state == UNIT_DONE)
    return;
  if (u->state == UNIT_WARM) {
    u->ready = true; /* its go may come */
    return;
  }
  if (u->warm)
    u->started_ms = jd_unix_ms(); /* the later of its go and its container's start */
  u->state = UNIT_RUNNING;
  jd_clock_attach(m, u);
  int64_t now = jd_mono_ms();
  if (u->ai < 0) {
    m->gl_start_mono = now;
    m->match_deadline = now + m->spec->limits.deadline_ms;
    int64_t wall = now + m->spec->limits.game_logic.wall_ms;
    u->deadline = wall < m->match_deadline ? wall : m->match_deadline;
  } else {
    u->deadline = now + jd_match_player_limits(m->spec, u->ai)->wall_ms;
    send_event(m, jd_proto_event_started(u->name, u->ai));
  }
  jd_match_event ev =
      jd_match_event_of(u->ai < 0 ? JD_EVENT_GAME_LOGIC_STARTED : JD_EVENT_PLAYER_STARTED, u);
  jd_match_emit(m, &ev);
}

static void on_exited(jd_match *m, jd_unit *u) {
  /* A warm unit given its go that failed before its container ran: a
   * cold start takes its place (out of memory: it stays the instance). */
  if (jd_warm_fell_through(m, u) && !start_cold(m, u->ai, u->name, u)) {
    jd_log(JD_LOG_WARN, "match.warm", "%s: warm %s failed (%s); starting it cold", m->run_key,
           u->cname, u->message ? u->message : "no message");
    u->went = false;
  }
  if (!jd_unit_used(u)) {
    u->state = UNIT_DONE; /* a warm container never used: not an instance */
    return;
  }
  bool was_alive = u->state != UNIT_DONE;
  u->state = UNIT_DONE;
  jd_clock_detach(m, u);
  jd_kill_reason kill = jd_unit_kill_reason(u);
  u->verdict = jd_verdict_of(u->engine_error, u->oom_killed, kill, u->exit_code);
  jd_match_event ev =
      jd_match_event_of(u->ai < 0 ? JD_EVENT_GAME_LOGIC_EXITED : JD_EVENT_PLAYER_EXITED, u);
  ev.exited.verdict = u->verdict;
  ev.exited.exit_code = u->exit_code;
  ev.exited.message = u->message;
  jd_match_emit(m, &ev);
  if (u->ai >= 0) {
    if (was_alive)
      m->alive_players--;
    send_event(m, jd_proto_event_exited(u->name, u->ai, u->exit_code, u->verdict));
    /* Killed or removed from outside the judger: a system fault; what the
     * match would come to is not the programs' doing any more. After the
     * match's end (or a cancel) it changes nothing. */
    if (u->outside && !m->has_status) {
      jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "player %s (AI %d): %s", u->name, u->ai,
                          u->message ? u->message : "ended from outside the judger");
      kill_units(m, 0, JD_KILL_FAULT);
    }
    return;
  }
  /* The game logic is gone: whatever it wrote before exiting counts. */
  read_commands(m);
  jd_proto_reader_finish(&m->reader, on_line, m);
  if (!m->ended) {
    if (u->engine_error)
      jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "game logic: %s",
                          u->message ? u->message : "engine failure");
    else if (kill == JD_KILL_TLE)
      jd_match_set_status(
          m, JD_MATCH_STATUS_FAILED, "game logic killed: %s before it ended the match",
          m->match_deadline && jd_mono_ms() >= m->match_deadline - 5 ? "match deadline passed"
                                                                     : "wall time exceeded");
    else if (kill == JD_KILL_CANCEL)
      jd_match_set_status(m, JD_MATCH_STATUS_CANCELLED, "cancelled");
    else
      jd_match_set_status(m, JD_MATCH_STATUS_FAILED,
                          "game logic exited (%s, exit code %lld) before ending the match",
                          jd_verdict_name(u->verdict), (long long)u->exit_code);
  }
  jd_kill_reason why = JD_KILL_END;
  if (m->has_status && m->status == JD_MATCH_STATUS_CANCELLED)
    why = JD_KILL_CANCEL;
  else if (m->has_status && m->status == JD_MATCH_STATUS_ERROR)
    why = JD_KILL_FAULT;
  kill_players(m, why);
}

static void drain_notes(jd_match *m) {
  jd_note *n = jd_match_take_notes(m);
  /* The clock's events first: a timeout is told before the exit it causes. */
  send_event(m, jd_clock_take_events(m));
  while (n) {
    jd_note *next = n->next;
    if (n->kind == NOTE_STARTED)
      on_started(m, n->unit);
    else
      on_exited(m, n->unit);
    n = next;
  }
  /* After the game logic's STARTED, and as warm units get ready. */
  jd_warm_advance(m);
}

/* ---- deadlines and cancellation --------------------------------------- */

static int64_t check_deadlines(jd_match *m, int64_t now) {
  int64_t next = 0;
#define NEXT(t) (next = (!next || (t) < next) ? (t) : next)
  for (size_t i = 0; i < m->nunits; i++) {
    jd_unit *u = m->units[i];
    if (u->state != UNIT_RUNNING || !u->deadline || atomic_load(&u->kill) != JD_KILL_NONE)
      continue;
    if (now >= u->deadline)
      jd_unit_request_kill(u, JD_KILL_TLE);
    else
      NEXT(u->deadline);
  }
  jd_unit *gl = gl_unit(m);
  if (m->grace_deadline && gl && gl->state != UNIT_DONE) {
    if (now >= m->grace_deadline) {
      jd_unit_request_kill(gl, JD_KILL_END);
      m->grace_deadline = 0;
    } else {
      NEXT(m->grace_deadline);
    }
  }
#undef NEXT
  return next;
}

/* Warm containers not used do not hold the match: they are killed and
 * removed in its teardown. */
static bool all_done(jd_match *m) {
  for (size_t i = 0; i < m->nunits; i++)
    if (m->units[i]->state != UNIT_DONE && m->units[i]->state != UNIT_WARM)
      return false;
  return true;
}

void jd_match_loop(jd_match *m) {
  bool cancelled = false;
  while (!all_done(m)) {
    int64_t now = jd_mono_ms();
    if (!cancelled && jd_match_cancel_fired(m)) {
      cancelled = true;
      jd_match_set_status(m, JD_MATCH_STATUS_CANCELLED, "cancelled");
      kill_units(m, 0, JD_KILL_CANCEL);
    }
    int64_t next = check_deadlines(m, now);
    int timeout = -1;
    if (next)
      timeout = next - now > 0 ? (int)(next - now) : 0;
    if (m->hooks && m->hooks->cancel && !cancelled && (timeout < 0 || timeout > CANCEL_CHECK_MS))
      timeout = CANCEL_CHECK_MS;
    jd_unit *gl = gl_unit(m);
    bool gl_alive = gl && gl->state != UNIT_DONE;
    struct pollfd p[3] = {
        {.fd = m->wake_fd, .events = POLLIN},
        {.fd = gl_alive ? m->cmd_fd : -1, .events = POLLIN},
        {.fd = gl_alive && m->ev_out.len ? m->ev_fd : -1, .events = POLLOUT},
    };
    int n = poll(p, 3, timeout);
    if (n < 0 && errno != EINTR) {
      jd_log(JD_LOG_ERROR, "match.poll", "%s: %s", m->run_key, strerror(errno));
      jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "judger: poll failed: %s", strerror(errno));
      kill_units(m, 0, JD_KILL_CANCEL);
      /* Still wait for the unit threads: they remove their containers. */
      poll(p, 1, 100);
    }
    if (n <= 0)
      continue;
    /* Commands first: an "end" written just before the game logic exited
     * must be seen before its exit note is judged. */
    if (p[1].revents & POLLIN)
      read_commands(m);
    if (p[0].revents & POLLIN)
      drain_notes(m);
    if (p[2].revents & (POLLOUT | POLLERR))
      flush_events(m);
  }
}
