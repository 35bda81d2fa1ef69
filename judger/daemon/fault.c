/* Fault attribution (see fault.h and docs/daemon.md). */
#include "daemon/fault.h"
#include "daemon/daemon.h"

static const char *const blame_names[] = {
#define JD_BLAME_NAME(code, name, text) name,
    JD_BLAME_MAP(JD_BLAME_NAME)
#undef JD_BLAME_NAME
};

const char *jd_blame_name(jd_blame b) {
  return (unsigned)b < JD_BLAME_COUNT ? blame_names[b] : "?";
}

jd_blame jd_fault_blame(const jd_fault_facts *f) {
  if (f->outcome == JD_EXEC_INVALID)
    return JD_BLAME_TASK;
  if (f->outcome != JD_EXEC_DONE)
    return JD_BLAME_SYSTEM;
  switch (f->status) {
  case JD_TASK_STATUS_FAILED:
    /* A program verdict only for what the program did: an engine that
     * could not report a container, or that went away while the match ran,
     * explains the failure as well as the program does. */
    if (f->engine_error || f->engine_went_away)
      return JD_BLAME_SYSTEM;
    return JD_BLAME_PROGRAM;
  case JD_TASK_STATUS_ERROR:
    return JD_BLAME_SYSTEM;
  case JD_TASK_STATUS_FINISHED:
  case JD_TASK_STATUS_CANCELLED:
  case JD_TASK_STATUS_STALLED:
  case JD_TASK_STATUS_COUNT:
    break;
  }
  return JD_BLAME_NONE;
}

bool jd_fault_needs_confirm(const jd_fault_facts *f) {
  return f->outcome == JD_EXEC_DONE && f->status == JD_TASK_STATUS_FAILED && f->signal_exit &&
         !f->engine_error && !f->engine_went_away;
}
