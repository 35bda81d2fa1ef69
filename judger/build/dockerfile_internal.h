/* The Dockerfile reader's own seams (dockerfile.h is the module's face),
 * shared by its files: dockerfile.c (the reader's state, lines and
 * directives, the entry points), dockerfile_lex.c (strings, white space,
 * variables, the shell lexer, the splitters), dockerfile_check.c (the
 * checks of each instruction) and dockerfile_ref.c (image references and
 * the allow-list). Not for other files. */
#ifndef JD_DOCKERFILE_INTERNAL_H
#define JD_DOCKERFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "build/dockerfile.h"

#define DF_VALUE_MAX (64 * 1024)              /* one expanded word */
#define DF_NEST_MAX 16                        /* ${a:-${b:-...}} levels */
#define DF_VARS_MAX 256                       /* variables of one scope */
#define DF_STAGES_MAX 128                     /* FROM lines */
#define DF_KEPT_MAX ((size_t)4 * 1024 * 1024) /* bytes of values held at once */
#define DF_QUOTE_MAX 120                      /* instruction text quoted in a message */

/* ---- strings (dockerfile_lex.c) ---- */

/* A growing string with a cap: past it, over is set and nothing more is
 * kept. */
typedef struct sbuf {
  char *p;
  size_t len, cap, max;
  bool over, oom;
} sbuf;

void jd_df_sb_put(sbuf *b, const char *s, size_t n);
static inline const char *sb_str(const sbuf *b) { return b->p ? b->p : ""; }

/* Length of a Unicode white-space character (Go's unicode.IsSpace) at s,
 * or 0. */
size_t jd_df_space_len(const unsigned char *s, size_t n);
/* s[0..*n) without Unicode white space at either end. */
void jd_df_trim_unicode(const char **s, size_t *n);
/* [\t\v\f\r ] — the engine's reWhitespace. */
static inline bool ws(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* ---- variables ---- */

typedef struct var {
  char *name;
  char *value; /* NULL: unknown */
} var;

typedef struct scope {
  var *v;
  size_t n;
} scope;

static inline const var *scope_find(const scope *s, const char *name) {
  for (size_t i = 0; s && i < s->n; i++)
    if (!strcmp(s->v[i].name, name))
      return &s->v[i];
  return NULL;
}

/* Where a word's variables come from. */
typedef struct lookup {
  const scope *env;  /* the stage's ENV: first */
  const scope *args; /* the stage's ARGs (or the meta ARGs); NULL: none visible */
  bool base_image;   /* names in neither may be the base image's: unknown */
  bool tainted;      /* every name unknown */
  bool strict;       /* ARGs hidden behind a base image (its ENV would win) */
} lookup;

/* word (n bytes) expanded as the engine's shell lexer does, with the
 * variables of lk: malloc'd, NULL when memory runs out. *unknown when a
 * value that cannot be known went into it, the lexer fails on the word
 * or a cap was passed. */
char *jd_df_expand(const char *word, size_t n, char esc, const lookup *lk, bool *unknown);

/* ---- words (dockerfile_lex.c) ---- */

typedef struct words {
  char **w;
  size_t n;
} words;

void jd_df_words_free(words *w);
/* The engine's parseStringsWhitespaceDelimited. 0, or -1 when memory runs
 * out. */
int jd_df_split_ws(words *out, const char *s, size_t n);
/* The engine's parseWords: white space splits, quotes and the escape
 * character are kept in the words (the lexer reads them later). 0 or -1. */
int jd_df_split_words(words *out, const char *s, size_t n, char esc);
/* The leading --flag words of an instruction's text, as the engine's flag
 * splitter takes them: into flags, *args_at where the arguments start. 0
 * or -1. */
int jd_df_split_flags(words *flags, size_t *args_at, const char *s, size_t n);
/* The JSON form: *is_json when s is a JSON array of strings (then its
 * strings in out). 0 or -1. */
int jd_df_split_json(words *out, bool *is_json, const char *s, size_t n);

/* ---- the reader's state (dockerfile.c) ---- */

typedef struct stage {
  char *name;      /* the lower-cased AS name, or NULL */
  scope env;       /* ENV at the stage's end */
  bool base_image; /* the chain starts at an image */
  bool tainted;    /* every lookup unknown (a key that could not be resolved, a
                      trigger of the stage it is built on) */
  bool triggers;   /* it has ONBUILD instructions: a stage from it is tainted */
} stage;

typedef struct df_state {
  const char *patterns;
  char esc;
  scope meta;    /* ARGs before the first FROM */
  bool in_stage; /* a FROM was read */
  stage cur;     /* the stage being read */
  scope args;    /* its ARGs */
  stage done[DF_STAGES_MAX];
  size_t ndone;
  size_t kept; /* bytes of names and values held */
  jd_dockerfile_verdict *out;
  bool oom;
  /* the instruction being read, for messages */
  int line;
  const char *text;
  size_t text_len;
  bool in_onbuild;
} df_state;

/* Empties s. */
void jd_df_scope_clear(df_state *st, scope *s);
/* Sets name in s (value NULL: unknown): 0, or -1 when memory runs out
 * (st->oom) or past a cap (refused). */
int jd_df_scope_set(df_state *st, scope *s, const char *name, const char *value);
/* Sets every variable of src in dst: 0 or -1 (as jd_df_scope_set). */
int jd_df_scope_copy(df_state *st, scope *dst, const scope *src);
/* Records the first refusal (the line and instruction being read, and why)
 * in st->out; returns -1, so a check can `return jd_df_refuse(...)`. */
int jd_df_refuse(df_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The variables a word of the current instruction sees. */
lookup jd_df_stage_lookup(const df_state *st, bool strict);

/* ---- the checks (dockerfile_check.c) ---- */

/* Checks one instruction (its logical line, len bytes): 0, or -1 when
 * refused (st->out) or memory ran out (st->oom). */
int jd_df_check_instruction(df_state *st, const char *text, size_t len);

/* ---- image references (dockerfile_ref.c) ---- */

/* What the allow-list says of an image reference. */
typedef enum df_admit {
  DF_ADMIT_NO,    /* not admitted (why says) */
  DF_ADMIT_LOCAL, /* an image of the judger's names, judger/... and judger-test/...: the judger
                     or its tests make them on the host, and Docker Hub's namespaces of these
                     names are not the judger's, so they are never to be pulled */
  DF_ADMIT_PULL,  /* another name an operator's pattern admits: the engine may pull it */
} df_admit;

/* Whether ref is admitted under patterns (a base_images setting). */
df_admit jd_df_admitted_by(const char *patterns, const char *ref, char *why, size_t whylen);
/* Whether ref is the judger's base image itself (JD_BASE_IMAGE, by any
 * spelling of its reference, not by digest). */
bool jd_df_is_base_image(const char *ref);

#endif
