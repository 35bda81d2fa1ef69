/* THE UTF-8 sanitiser: every string that came from a program (a game
 * logic's messages, refused lines, progress fields, output file names,
 * build output, engine messages quoting an image) goes through here before
 * it enters JSON or the judger's log, so result.json, events and progress
 * lines always pass a strict UTF-8 decoder.
 *
 * Rules: each maximal invalid subsequence (stray continuation byte,
 * overlong form, surrogate, past U+10FFFF, truncated sequence) becomes one
 * U+FFFD, as Unicode's "best practice" (and WHATWG's decoder) says; a NUL
 * byte becomes U+FFFD too (C strings cannot carry it); a cut to max bytes
 * happens on a character boundary. Other control characters stay (JSON
 * escapes them) unless JD_UTF8_ESCAPE_CONTROLS asks for "\xNN" text, for
 * plain-text logs where a newline or an ESC could forge a line, and for a
 * person's terminal (jd_term_printf), which a program's ESC, BEL or CR
 * must never drive (set its title, clear it, rewrite a line). */
#ifndef JD_UTF8_H
#define JD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

/* C0 controls and DEL become "\xNN", C1 controls (U+0080..U+009F, which
 * some terminals obey as ESC-sequences) "\u0080"-style. */
#define JD_UTF8_ESCAPE_CONTROLS 1u
/* With JD_UTF8_ESCAPE_CONTROLS: newline and tab stay as they are (text
 * printed for a person, where they only move the cursor forward). */
#define JD_UTF8_KEEP_LINES 2u

/* True when s[0..len) is valid UTF-8 without NUL bytes. */
bool jd_utf8_valid(const char *s, size_t len);

/* Cleans src[0..len) into dst (cap bytes including the NUL; cap >= 1).
 * Returns the length written. Never splits a character. */
size_t jd_utf8_clean(char *dst, size_t cap, const char *src, size_t len, unsigned flags);

/* The same, malloc'd: at most max bytes (0 = no cap) plus the NUL. The
 * caller frees; NULL on out of memory. */
char *jd_utf8_dup(const char *src, size_t len, size_t max, unsigned flags);

/* A JSON string from a program's bytes (s NUL-terminated; NULL gives a JSON
 * null, i.e. NULL). Owned by the caller (or the object it is added to). */
json_object *jd_json_str(const char *s);
/* The same from len bytes, cut to at most max bytes (0 = no cap). */
json_object *jd_json_str_len(const char *s, size_t len, size_t max);

/* A deep copy of o with every string and key cleaned and every number
 * valid JSON (json-c keeps a parsed number's text: "NaN", "1e999" and "1."
 * are rewritten from their values, a value that is not finite becomes
 * null); containers deeper than max_depth become null. NULL for NULL or
 * out of memory. */
json_object *jd_json_clean(json_object *o, int max_depth);

/* Human-readable output that may carry a program's text (build lines,
 * tables, messages): formats, then cleans with JD_UTF8_ESCAPE_CONTROLS |
 * JD_UTF8_KEEP_LINES, then writes to f. Every such print goes through here:
 * no ESC, BEL, CR or C1 control of a program reaches a terminal. */
void jd_term_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
