// test-labels: unit
/* THE UTF-8 sanitiser: what comes out passes a strict decoder (json-c's
 * JSON_TOKENER_VALIDATE_UTF8), whatever bytes went in. */
#include <string.h>

#include <json-c/json.h>

#include "common/utf8.h"
#include "support.h"

static char *clean(const char *s, size_t len, size_t max) {
  char *d = jd_utf8_dup(s, len, max, 0);
  cr_assert_not_null(d);
  return d;
}

/* Parses text with json-c's strict UTF-8 validation. */
static bool strict_json_ok(const char *text) {
  json_tokener *tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
  bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
  json_object_put(o);
  json_tokener_free(tok);
  return ok;
}

Test(utf8, valid_text_is_kept_as_is) {
  const char *s = "abc \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 \xC3\xA9";
  cr_assert(jd_utf8_valid(s, strlen(s)));
  char *d = clean(s, strlen(s), 0);
  cr_assert_str_eq(d, s);
  free(d);
}

Test(utf8, each_invalid_subpart_becomes_one_replacement) {
  static const struct {
    const char *in;
    size_t len;
    const char *out;
  } cases[] = {
      {"a\x80z", 3, "a\xEF\xBF\xBDz"},                                 /* stray continuation */
      {"a\xC0\xAFz", 4, "a\xEF\xBF\xBD\xEF\xBF\xBDz"},                 /* overlong '/' */
      {"a\xED\xA0\x80z", 5, "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz"}, /* surrogate */
      {"a\xF4\x90\x80\x80z", 6,
       "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz"}, /* past U+10FFFF */
      {"a\xE4\xB8z", 4, "a\xEF\xBF\xBDz"},                    /* truncated 3-byte */
      {"a\xFFz", 3, "a\xEF\xBF\xBDz"},
      {"a\0z", 3, "a\xEF\xBF\xBDz"},   /* NUL */
      {"\xE4\xB8", 2, "\xEF\xBF\xBD"}, /* truncated at the end */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cr_assert_not(jd_utf8_valid(cases[i].in, cases[i].len), "case %zu", i);
    char *d = clean(cases[i].in, cases[i].len, 0);
    cr_assert_str_eq(d, cases[i].out, "case %zu", i);
    cr_assert(jd_utf8_valid(d, strlen(d)));
    free(d);
  }
}

Test(utf8, a_cut_falls_on_a_character_boundary) {
  /* 400 CJK characters: 1 200 bytes. */
  char s[1201];
  for (int i = 0; i < 400; i++)
    memcpy(s + 3 * i, "\xE4\xB8\xAD", 3);
  s[1200] = '\0';
  char *d = clean(s, 1200, 1024);
  cr_assert_eq(strlen(d), 1023); /* 341 characters; the 342nd would pass 1024 */
  cr_assert(jd_utf8_valid(d, strlen(d)));
  free(d);
  char buf[8];
  cr_assert_eq(jd_utf8_clean(buf, sizeof buf, s, 1200, 0), 6);
  cr_assert_eq(jd_utf8_clean(buf, 1, s, 1200, 0), 0);
  cr_assert_str_eq(buf, "");
}

Test(utf8, controls_are_escaped_for_text_logs) {
  char buf[64];
  jd_utf8_clean(buf, sizeof buf, "a\nb\x1b[31m\x7f", 9, JD_UTF8_ESCAPE_CONTROLS);
  cr_assert_str_eq(buf, "a\\x0ab\\x1b[31m\\x7f");
  jd_utf8_clean(buf, sizeof buf, "a\nb", 3, 0);
  cr_assert_str_eq(buf, "a\nb");
}

Test(utf8, every_byte_pair_gives_strict_json) {
  /* Every two-byte input (and a NUL-free lead): the JSON form of the
   * cleaned string passes a strict decoder. */
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++) {
      char in[3] = {(char)a, (char)b, (char)0xE4};
      json_object *o = jd_json_str_len(in, 3, 0);
      cr_assert_not_null(o);
      const char *text = json_object_to_json_string(o);
      cr_assert(strict_json_ok(text), "%02x %02x: %s", a, b, text);
      json_object_put(o);
    }
}

Test(utf8, json_clean_fixes_keys_and_nested_strings) {
  json_object *o = json_object_new_object();
  json_object *a = json_object_new_array();
  json_object_array_add(a, json_object_new_string_len("x\xFFy", 3));
  json_object_array_add(a, json_object_new_int(7));
  json_object_object_add(o, "k\xC3", a);
  json_object_object_add(o, "n", json_object_new_string_len("a\0b", 3));
  json_object *c = jd_json_clean(o, 8);
  const char *text = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN);
  cr_assert(strict_json_ok(text), "%s", text);
  cr_assert_str_eq(text, "{\"k\xEF\xBF\xBD\":[\"x\xEF\xBF\xBDy\",7],\"n\":\"a\xEF\xBF\xBD"
                         "b\"}");
  json_object_put(c);
  json_object_put(o);
  /* Nesting past the cap becomes null. */
  json_object *deep = json_tokener_parse("[[[\"x\"]]]");
  c = jd_json_clean(deep, 2);
  cr_assert_str_eq(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN), "[[null]]");
  json_object_put(c);
  json_object_put(deep);
  cr_assert_null(jd_json_str(NULL));
}

Test(utf8, terminal_text_escapes_c0_c1_and_del_but_keeps_lines) {
  /* A title change (OSC ... BEL), a screen clear (CSI 2J), a CR that would
   * rewrite the line, an 8-bit CSI (U+009B) and DEL: all escaped; newline
   * and tab stay, and so does a printable non-ASCII character. */
  const char in[] = "\x1b]0;title\x07\x1b[2J\rx\xc2\x9b"
                    "1m\x7f\ty\n\xc3\xa9";
  char *d = jd_utf8_dup(in, sizeof in - 1, 0, JD_UTF8_ESCAPE_CONTROLS | JD_UTF8_KEEP_LINES);
  cr_assert_not_null(d);
  cr_assert_str_eq(d, "\\x1b]0;title\\x07\\x1b[2J\\x0dx\\u009b1m\\x7f\ty\n\xc3\xa9");
  free(d);
}

Test(utf8, term_printf_writes_no_raw_control) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  jd_term_printf(f, "build: %s\n", "\x1b[2J\x07");
  /* Past the stack buffer: the long path cleans too. */
  char big[3000];
  memset(big, '\x1b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  jd_term_printf(f, "%s", big);
  fclose(f);
  cr_assert(!strchr(buf, '\x1b') && !strchr(buf, '\x07'), "%s", buf);
  cr_assert(!strncmp(buf, "build: \\x1b[2J\\x07\n", 19), "%s", buf);
  cr_assert_eq(len, 19 + 4 * 2999);
  free(buf);
}
