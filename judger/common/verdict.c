#include "common/verdict.h"

#include <string.h>

static const struct {
  const char *name;
  const char *text;
} verdicts[] = {
#define JD_VERDICT_ROW(code, name, text) {name, text},
    JD_VERDICT_MAP(JD_VERDICT_ROW)
#undef JD_VERDICT_ROW
};

const char *jd_verdict_name(jd_verdict v) {
  return (unsigned)v < JD_VERDICT_COUNT ? verdicts[v].name : "?";
}

const char *jd_verdict_text(jd_verdict v) {
  return (unsigned)v < JD_VERDICT_COUNT ? verdicts[v].text : "unknown verdict";
}

int jd_verdict_parse(jd_verdict *out, const char *s) {
  for (unsigned i = 0; s && i < JD_VERDICT_COUNT; i++) {
    if (!strcmp(s, verdicts[i].name)) {
      *out = (jd_verdict)i;
      return 0;
    }
  }
  return -1;
}
