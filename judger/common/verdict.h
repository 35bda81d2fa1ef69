/* A program's verdict: what one build, one container or one player came to.
 * One list (JD_VERDICT_MAP) gives the enum and the names written in
 * results, so a verdict can never lack its name and a switch over one is
 * checked by the compiler. Only what the program did is its verdict: a
 * failure of the engine, Redis or the judger is UE (ours), never CE/RE. */
#ifndef JD_VERDICT_H
#define JD_VERDICT_H

#define JD_VERDICT_MAP(XX)                                                                         \
  XX(OK, "OK", "ran and ended on its own, or built")                                               \
  XX(CE, "CE", "the program's build or Dockerfile failed")                                         \
  XX(RE, "RE", "exited with a non-zero code")                                                      \
  XX(TLE, "TLE", "ran past its wall-time limit")                                                   \
  XX(MLE, "MLE", "killed for its memory limit")                                                    \
  XX(OLE, "OLE", "wrote more than its output limit")                                               \
  XX(UE, "UE", "the judger or the engine failed, or the run was cancelled")                        \
  XX(CANCEL, "CANCEL", "never ran: its build failed")

typedef enum jd_verdict {
#define JD_VERDICT_ENUM(code, name, text) JD_VERDICT_##code,
  JD_VERDICT_MAP(JD_VERDICT_ENUM)
#undef JD_VERDICT_ENUM
      JD_VERDICT_COUNT
} jd_verdict;

/* "OK", "CE", ...; "?" for a value outside the enum. Static storage. */
const char *jd_verdict_name(jd_verdict v);
/* One line saying what the verdict means. Static storage. */
const char *jd_verdict_text(jd_verdict v);
/* The verdict named s (exact, upper case): 0, or -1 for any other string. */
int jd_verdict_parse(jd_verdict *out, const char *s);

#endif
