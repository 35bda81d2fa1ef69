/* The judger's event log: one line per event on stderr, either human text
 * or one JSON object per line (for the daemon). */
#ifndef JD_LOG_H
#define JD_LOG_H

typedef enum { JD_LOG_DEBUG, JD_LOG_INFO, JD_LOG_WARN, JD_LOG_ERROR } jd_log_level;

void jd_log_set_level(jd_log_level level);
void jd_log_set_json(int json);
/* event: a short stable name ("match.start"); fmt: free text. */
void jd_log(jd_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with the task it is about: a "task_id" field in JSON mode,
 * "[task_id]" before the text otherwise. task_id may be NULL. */
void jd_log_task(jd_log_level level, const char *event, const char *task_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
