// test-labels: unit
/* The Dockerfile reader (build/dockerfile.h): the classic builder's
 * parsing, substitution and stages, every refused form, the allow-list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "build/base_image.h"
#include "build/dockerfile.h"

#define PATTERNS "judger-test/*,gcc:12"

static jd_dockerfile_verdict check_with(const char *patterns, const char *df) {
  jd_dockerfile_verdict v;
  cr_assert_eq(jd_dockerfile_check(&v, df, strlen(df), patterns), 0);
  return v;
}

static jd_dockerfile_verdict check(const char *df) { return check_with(PATTERNS, df); }

/* Refused at line, with a message naming the line and holding want. */
static void refused(const char *df, int line, const char *want) {
  jd_dockerfile_verdict v = check(df);
  cr_assert(v.refused, "not refused:\n%s", df);
  cr_assert_eq(v.line, line, "line %d, not %d (%s)", v.line, line, v.message);
  char head[32];
  snprintf(head, sizeof head, "line %d: ", line);
  cr_assert(!strncmp(v.message, head, strlen(head)), "message: %s", v.message);
  if (want)
    cr_assert(strstr(v.message, want), "'%s' not in: %s", want, v.message);
}

static void allowed(const char *df) {
  jd_dockerfile_verdict v = check(df);
  cr_assert(!v.refused, "refused: %s\n%s", v.message, df);
  cr_assert_eq(v.line, 0);
}

Test(dockerfile, plain_dockerfiles_pass) {
  allowed("FROM " JD_BASE_IMAGE "\nRUN apt-get update && apt-get install -y gcc\nCMD [\"sh\"]\n");
  allowed("FROM judger-test/busybox:1\nENV MARK=x\nCMD [\"cat\", \"/app/out\"]\n");
  allowed("FROM scratch\nCOPY Dockerfile /\n");
  allowed("");
  allowed("# just a comment\n\n   \n");
  allowed("FROM gcc:12\nWORKDIR /w\nUSER 65534\n");
  allowed("FROM judger-test/busybox:1\nADD Dockerfile /x\nADD [\"Dockerfile\", \"/y\"]\n");
  /* a URL in a RUN command is the command's business (the build network) */
  allowed("FROM judger-test/busybox:1\nRUN wget http://deb.debian.org/x\n");
}

Test(dockerfile, add_url_refused_with_line) {
  refused("FROM scratch\nADD http://127.0.0.1:8080/secret /leak.txt\n", 2,
          "ADD http://127.0.0.1:8080/secret /leak.txt: ADD from a URL is refused");
  refused("FROM scratch\nADD https://example.org/x /x\n", 2, NULL);
  refused("FROM scratch\nADD ftp://example.org/x /x\n", 2, NULL);
  refused("FROM scratch\nADD git@github.com:a/b.git /src\n", 2, NULL);
  refused("FROM scratch\nADD github.com/a/b /src\n", 2, NULL);
  refused("FROM scratch\nADD user@host:repo /src\n", 2, NULL);
  refused("FROM scratch\nADD local /x\nADD \"http://x/y\" /f\n", 3, NULL);
  refused("FROM scratch\nADD 'http://x/y' /f\n", 2, NULL);
  refused("FROM scratch\nADD --chown=1:1 http://x/y /f\n", 2, NULL);
  refused("FROM scratch\nADD a b http://x/y /f\n", 2, NULL);
  refused("FROM scratch\nadd http://x/y /f\n", 2, NULL);
  refused("FROM scratch\nAdD HTTP://x/y /f\n", 2, NULL);
}

Test(dockerfile, add_flags_refused) {
  refused("FROM scratch\nADD --checksum=sha256:0000 Dockerfile /f\n", 2, "--checksum");
  refused("FROM scratch\nADD --keep-git-dir=true Dockerfile /f\n", 2, "--keep-git-dir");
  refused("FROM scratch\nADD --whatever Dockerfile /f\n", 2, "unknown flag");
  allowed("FROM scratch\nADD --chown=1:1 --chmod=644 Dockerfile /f\n");
}

Test(dockerfile, json_form) {
  refused("FROM scratch\nADD [\"http://x/y\", \"/f\"]\n", 2, NULL);
  /* JSON escapes are decoded before the engine looks at the word */
  refused("FROM scratch\nADD [\"\\u0068ttp:\\/\\/x/y\", \"/f\"]\n", 2, NULL);
  allowed("FROM scratch\nADD [\"Dockerfile\", \"/f\"]\nCMD [\"a\", \"b\"]\n");
}

Test(dockerfile, continuations_comments_and_empty_lines) {
  /* the ADD is part of the RUN's shell command: nothing to fetch */
  allowed("FROM scratch\nRUN echo a \\\nADD http://x/y /f\n");
  /* comment and empty lines inside a continuation are skipped; the next
   * instruction is counted on its own physical line */
  refused("FROM scratch\n"
          "RUN echo a \\\n"
          "  # a comment inside\n"
          "\n"
          "  && echo b\n"
          "ADD http://x/y /f\n",
          6, NULL);
  /* an instruction spread over lines is named by its first */
  refused("FROM scratch\n"
          "ADD \\\n"
          "  # c\n"
          "  http://x/y \\   \n"
          "  /f\n",
          2, "ADD   http://x/y   /f");
  /* a continuation at the end of the file */
  refused("FROM scratch\nADD http://x/y /f \\", 2, NULL);
  /* CRLF and a BOM */
  refused("\xef\xbb\xbf"
          "FROM scratch\r\nADD http://x/y /f\r\n",
          2, NULL);
  /* leading Unicode white space is trimmed by the engine */
  refused("FROM scratch\n\xc2\xa0\xe2\x80\x83"
          "ADD http://x/y /f\n",
          2, NULL);
  /* "# ..." after the first instruction is a comment, wherever it is */
  allowed("FROM scratch\n  # ADD http://x/y /f\n");
}

Test(dockerfile, escape_directive) {
  refused("# escape=`\nFROM scratch\nADD `\n  http://x/y /f\n", 3, NULL);
  /* with ` as the escape, a backslash does not continue: the ADD is its own */
  refused("# escape=`\nFROM scratch\nRUN echo \\\nADD http://x/y /f\n", 4, NULL);
  /* the escape character is taken out of words: h`ttp is http */
  refused("#escape = `\nFROM scratch\nENV A=h`ttp:/\nADD ${A}/x /f\n", 4, NULL);
  refused("# escape=x\nFROM scratch\n", 1, "must be");
  refused("# escape=\\\n# escape=`\nFROM scratch\n", 2, "only one");
  /* a directive after any other line is a comment */
  allowed("FROM scratch\n# escape=`\nRUN echo \\\nADD http://x/y /f\n");
  allowed("# a comment\n# escape=x\nFROM scratch\n");
}

Test(dockerfile, syntax_directive_refused) {
  refused("# syntax=docker/dockerfile:1\nFROM scratch\n", 1, "syntax directive");
  refused("# escape=`\n# SYNTAX = evil/frontend\nFROM scratch\n", 2, NULL);
  allowed("FROM scratch\n# syntax=docker/dockerfile:1\n");
}

Test(dockerfile, arg_and_env_substitution) {
  refused("FROM scratch\nARG U=http://x/y\nADD $U /f\n", 3, "URL");
  refused("FROM scratch\nARG U=http://x/y\nADD ${U} /f\n", 3, "URL");
  /* a meta ARG, brought into the stage */
  refused("ARG U=http://x/y\nFROM scratch\nARG U\nADD $U /f\n", 4, NULL);
  /* a meta ARG not brought in is empty in the stage */
  allowed("ARG U=http://x/y\nFROM scratch\nADD ${U}Dockerfile /f\n");
  /* ENV, assembled from parts */
  refused("FROM scratch\nENV A=http:/\nADD ${A}/x /f\n", 3, NULL);
  refused("FROM scratch\nENV A http:/\nENV B=$A/x\nADD $B /f\n", 4, NULL);
  /* ${v:-w}, ${v:+w} */
  refused("FROM scratch\nENV S=//\nADD ${NOPE:-http:}${S}x /f\n", 3, NULL);
  refused("FROM scratch\nENV SET=1 P=http:\nADD ${SET:+$P}//x /f\n", 3, NULL);
  allowed("FROM scratch\nENV P=http:\nADD ${UNSET:+$P}//x /f\n");
  /* an escaped $ is a $ */
  allowed("FROM scratch\nARG U=http://x/y\nADD \\$U /f\n");
  allowed("FROM scratch\nARG U=http://x/y\nADD '$U' /f\n");
  refused("FROM scratch\nARG U=http://x/y\nADD \"$U\" /f\n", 3, NULL);
  /* ENV's values are taken with the variables before the line */
  allowed("FROM scratch\nENV A=x\nENV A=http:/ B=${A}y\nADD $B /f\n");
  /* ENV wins over ARG */
  allowed("FROM scratch\nARG U=http://x/y\nENV U=Dockerfile\nADD $U /f\n");
  /* ARG and ENV do not cross stages; a stage built on a stage keeps ENV */
  allowed("FROM scratch AS a\nARG U=http://x/y\nFROM scratch\nADD ${U}z /f\n");
  refused("FROM scratch AS a\nENV U=http://x/y\nFROM a\nADD $U /f\n", 4, NULL);
}

Test(dockerfile, unresolved_values_are_refused) {
  /* a base image's environment is not known here */
  refused("FROM judger-test/busybox:1\nADD $PATH /f\n", 2, "cannot be resolved");
  /* nor what the judger passes as build arguments */
  refused("FROM scratch\nARG http_proxy\nADD $http_proxy /f\n", 3, NULL);
  refused("FROM scratch\nARG HTTPS_PROXY=x\nADD ${HTTPS_PROXY}y /f\n", 3, NULL);
  /* a base image's ENV would win over an ARG */
  refused("FROM judger-test/busybox:1\nARG V=1\nADD app-$V /f\n", 3, NULL);
  /* what the engine's lexer refuses */
  refused("FROM scratch\nADD ${A /f\n", 2, NULL);
  refused("FROM scratch\nADD \"abc /f\n", 2, NULL);
  refused("FROM scratch\nADD ${A:?x} /f\n", 2, NULL);
}

/* The engine's predefined build arguments reach every word without an ARG
 * line, before FROM too, and the judger gives the proxy ones a value: a
 * reader taking them as empty let both of these through (an attacker's
 * review reached another program's image and the host's loopback). */
Test(dockerfile, the_engines_predefined_args_are_unknown) {
  refused("ARG Q=${HTTP_PROXY:+ai-c4-js-run:latest}\nFROM ${Q:-judger/debian:bookworm}\n"
          "RUN true\n",
          2, NULL);
  refused("FROM scratch\nADD ${HTTP_PROXY:+http:/${X}/127.0.0.1:18919/secret} /leak.txt\n", 2,
          NULL);
  refused("FROM judger-test/busybox:1\nADD ${http_proxy}x /f\n", 2, NULL);
  refused("FROM scratch\nARG https_proxy=\nADD ${https_proxy:+http://h/x} /f\n", 3, NULL);
  refused("FROM ${no_proxy:-scratch}\n", 1, NULL);
  /* An ENV of the stage is the Dockerfile's own: known again. */
  allowed("FROM scratch\nENV http_proxy=\nADD ${http_proxy}f /f\n");
}

/* A RUN step after VOLUME wrote into an anonymous ext4 volume on the
 * host's disk while the image built, outside the image-size cap. */
Test(dockerfile, volume_is_refused) {
  refused("FROM scratch\nVOLUME /data\n", 2, "VOLUME is refused");
  refused("FROM scratch\nvolume [\"/data\"]\nRUN dd if=/dev/zero of=/data/x\n", 2, NULL);
  refused("FROM scratch\nONBUILD VOLUME /data\n", 2, NULL);
  refused("FROM scratch\nRUN true \\\n && true\nVOL\\\nUME /x\n", 4, NULL);
}

Test(dockerfile, onbuild_checked_as_if_it_ran) {
  refused("FROM scratch\nONBUILD ADD http://x/y /f\n", 2, "ONBUILD ADD http://x/y /f");
  refused("FROM scratch\nonbuild add [\"http://x/y\", \"/f\"]\n", 2, NULL);
  refused("FROM scratch\nONBUILD COPY --from=ai-other-run / /\n", 2, NULL);
  refused("FROM scratch\nONBUILD ONBUILD RUN true\n", 2, NULL);
  refused("FROM scratch\nONBUILD FROM scratch\n", 2, NULL);
  /* a trigger's ENV reaches the stage built on it: unknown there */
  refused("FROM scratch AS a\nONBUILD ENV U=http://x/y\nFROM a\nADD $U /f\n", 4, NULL);
  allowed("FROM scratch\nONBUILD RUN echo hi\n");
}

Test(dockerfile, from_allow_list) {
  refused("FROM ai-other-run:latest\n", 1, "another program's environment image");
  refused("FROM ai-other-run\n", 1, NULL);
  refused("FROM game_logic-tron-build:abc\n", 1, NULL);
  refused("FROM docker.io/library/ai-x-run\n", 1, NULL);
  refused("FROM library/ai-x-run:latest\n", 1, NULL);
  refused("FROM localhost:5000/ai-x-run\n", 1, NULL);
  refused("FROM judger/build-proxy:0123\n", 1, "judger's own images");
  refused("FROM judger/judger:latest\n", 1, NULL);
  refused("FROM abc123\n", 1, "image id");
  refused("FROM deadbeef\n", 1, NULL);
  refused("FROM sha256:abcdef\n", 1, NULL);
  refused("FROM gcc:13\n", 1, "not in the allowed base images");
  refused("FROM gcc\n", 1, NULL); /* gcc:latest */
  refused("FROM Judger-Test/busybox:1\n", 1, NULL);
  refused("FROM judger/debian:trixie\n", 1, NULL);
  allowed("FROM judger/debian:bookworm\n");
  allowed("FROM docker.io/library/gcc:12\n");
  allowed("FROM gcc@sha256:"
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
  allowed("FROM judger-test/anything:else AS build\n");
  allowed("FROM --platform=linux/amd64 scratch\n");
  refused("FROM --evil=1 scratch\n", 1, "unknown flag");
  /* names assembled from meta ARGs */
  refused("ARG B=ai-x-run\nFROM $B\n", 2, NULL);
  refused("ARG B=ai-x\nFROM ${B}-run:latest\n", 2, NULL);
  allowed("ARG B=judger-test/busybox:1\nFROM $B\n");
  allowed("ARG B\nFROM ${B:-judger-test/busybox:1}\n");
  refused("ARG http_proxy\nFROM ${http_proxy}\n", 2, "cannot be resolved");
  /* a stage ARG is not seen by FROM */
  refused("FROM scratch\nARG B=judger-test/busybox:1\nFROM $B\n", 3, NULL);
}

Test(dockerfile, stages_are_not_images) {
  allowed("FROM judger-test/busybox:1 AS builder\nRUN true\n"
          "FROM scratch\nCOPY --from=builder /bin/sh /sh\nCOPY --from=0 /a /b\n");
  allowed("FROM judger-test/busybox:1 AS Builder\nFROM builder\n");
  /* a stage alias shadows the image of the same name once it is done */
  allowed("FROM judger-test/busybox:1 AS ai-other-run\nFROM scratch\n"
          "COPY --from=ai-other-run / /\nFROM ai-other-run\n");
  /* ... but not while it is being read, nor before */
  refused("FROM judger-test/busybox:1 AS ai-other-run\nCOPY --from=ai-other-run / /\n", 2, NULL);
  refused(
      "FROM scratch\nCOPY --from=ai-other-run / /\nFROM judger-test/busybox:1 AS ai-other-run\n", 2,
      NULL);
  refused("FROM ai-other-run AS ai-other-run\n", 1, NULL);
  /* an index only of a finished stage */
  refused("FROM scratch\nCOPY --from=0 / /\n", 2, NULL);
  refused("FROM scratch\nFROM scratch\nCOPY --from=5 / /\n", 3, NULL);
  /* images in --from go through the allow-list */
  refused("FROM scratch\nCOPY --from=ai-other-run:latest /app /app\n", 2, "COPY --from");
  refused("FROM scratch\nCOPY --from=judger/build-proxy:x / /\n", 2, NULL);
  allowed("FROM scratch\nCOPY --from=judger-test/busybox:1 /bin/sh /sh\n");
  refused("FROM scratch\nARG S=builder\nCOPY --from=$S / /\n", 3, "variable");
  refused("FROM scratch\nCOPY --evil / /\n", 2, "unknown flag");
}

Test(dockerfile, run_mount_and_flags) {
  /* a cache is shared by every build on the engine (review 28 #11) */
  refused("FROM scratch\nRUN --mount=type=cache,target=/root/.cache true\n", 2, "shares a cache");
  refused("FROM scratch\nRUN --mount=target=/c,TYPE=cache,id=x true\n", 2, "type=cache");
  refused("FROM scratch\nONBUILD RUN --mount=type=cache,target=/c true\n", 2, "type=cache");
  allowed("FROM scratch\nRUN --mount=type=tmpfs,target=/t true\n");
  allowed("FROM judger-test/busybox:1 AS b\nFROM scratch\n"
          "RUN --mount=type=bind,from=b,source=/bin,target=/b true\n");
  refused("FROM scratch\nRUN --mount=type=secret,id=x true\n", 2, "secret");
  refused("FROM scratch\nRUN --mount=type=ssh true\n", 2, NULL);
  refused("FROM scratch\nRUN --mount=from=ai-other-run,target=/o true\n", 2, NULL);
  refused("FROM scratch\nRUN --mount=type=cache,from=ai-other-run,target=/o true\n", 2, NULL);
  refused("FROM scratch\nRUN --mount=type=bind,evil=1 true\n", 2, "unknown option");
  /* a variable is expanded by the engine before the spec is split */
  refused("FROM scratch\nARG T=/c,type=cache\nRUN --mount=target=$T true\n", 3, "variable");
  refused("FROM scratch\nENV T=/c\nRUN --mount=type=tmpfs,target=${T} true\n", 3, "variable");
  refused("FROM scratch\nARG F=/o,from=ai-other-run\nRUN --mount=type=bind,target=$F true\n", 3,
          "variable");
  refused("FROM scratch\nRUN --network=host true\n", 2, NULL);
  allowed("FROM scratch\nRUN --network=none true\n");
  refused("FROM scratch\nRUN --security=insecure true\n", 2, NULL);
  refused("FROM scratch\nRUN --evil true\n", 2, NULL);
  refused("FROM scratch\nONBUILD RUN --mount=from=ai-other-run,target=/o true\n", 2, NULL);
}

Test(dockerfile, heredoc_lines_are_instructions) {
  /* Docker 20.10's classic builder has none, but Docker 23+ and buildah
   * read a heredoc's lines as its body: refused wherever it is */
  refused("FROM scratch\nRUN <<EOF\nADD http://x/y /f\nEOF\n", 2, "heredoc");
  refused("FROM scratch\nRUN cat <<EOF\n", 2, "heredoc");
  /* the attacker's form: the terminator is a comment to a line joiner */
  refused("FROM scratch\nRUN <<\"#E\" sh\necho hi \\\n#E\nRUN --network=host true\n", 2, "heredoc");
  refused("FROM scratch\nCOPY <<-EOF /f\nx\nEOF\n", 2, "heredoc");
  refused("FROM scratch\nADD 2<<E /f\nE\n", 2, "heredoc");
  refused("FROM scratch\nONBUILD RUN <<EOF\nEOF\n", 2, "heredoc");
  allowed("FROM judger-test/busybox:1\nRUN cat <<< word && echo a<b\n");
  /* The engine expands a word's variables (none set) before it matches
   * the heredoc pattern: `$x<<E` is `<<E` to it. */
  refused("FROM scratch\nRUN $x<<E sh\n#E\nRUN --network=host true\n", 2, "heredoc");
  refused("FROM scratch\nRUN ${x:-<}<E sh\n#E\nRUN --network=host true\n", 2, "heredoc");
  refused("FROM scratch\nRUN ${x:- <}<E sh\n", 2, "heredoc");
  refused("FROM scratch\nCOPY x<<E /f\n", 2, "heredoc");
  /* A heredoc word in a flag's quoted value: the flag splitter reads
   * `'x\' <<#E '` as one value, the engine's heredoc lexer as three words
   * (the attacker review's bypass), so the flags are looked at too. */
  refused("FROM scratch\nCOPY --chown='x\\' <<#E ' Dockerfile /d'\necho \\\n#E\n"
          "ADD http://x/y /f\n",
          2, "heredoc");
  refused("FROM scratch\nADD --chown='x\\' <<#E ' Dockerfile /d'\n", 2, "heredoc");
  refused("FROM scratch\nONBUILD COPY --chown='x\\' <<#E ' Dockerfile /d'\n", 2, "heredoc");
  /* and no COPY or ADD flag may hold a quote or an escape at all */
  refused("FROM scratch\nCOPY --chown='1:1' Dockerfile /d\n", 2, "quote or an escape");
  refused("FROM scratch\nADD --chmod=7\\55 Dockerfile /d\n", 2, "quote or an escape");
  allowed("FROM judger-test/busybox:1\nCOPY --chown=1:1 --chmod=755 Dockerfile /d\n");
  allowed("FROM judger-test/busybox:1\nRUN echo $HOME > /tmp/h && echo a<b\n");
}

Test(dockerfile, bounded_input) {
  /* nesting past the cap: the word is unknown, so the ADD is refused */
  char deep[2048] = "FROM scratch\nADD ";
  for (int i = 0; i < 40; i++)
    strcat(deep, "${A:-");
  strcat(deep, "x");
  for (int i = 0; i < 40; i++)
    strcat(deep, "}");
  strcat(deep, " /f\n");
  refused(deep, 2, NULL);
  /* doubling a value: stops at the cap, quickly, and nothing is refused
   * until the value is used where it matters */
  size_t cap = 1 << 16;
  char *df = malloc(cap);
  cr_assert(df);
  strcpy(df, "FROM scratch\nENV A=0123456789abcdef\n");
  for (int i = 0; i < 40; i++)
    strcat(df, "ENV A=$A$A\n");
  clock_t t0 = clock();
  jd_dockerfile_verdict v = check(df);
  cr_assert(!v.refused, "%s", v.message);
  strcat(df, "ADD $A /f\n");
  v = check(df);
  cr_assert(v.refused);
  cr_assert_eq(v.line, 43);
  cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 2.0);
  /* too many stages */
  df[0] = '\0';
  for (int i = 0; i < 200; i++)
    strcat(df, "FROM scratch\n");
  v = check(df);
  cr_assert(v.refused);
  cr_assert(strstr(v.message, "stages"), "%s", v.message);
  /* too many variables */
  strcpy(df, "FROM scratch\n");
  for (int i = 0; i < 300; i++)
    sprintf(df + strlen(df), "ENV V%d=1\n", i);
  v = check(df);
  cr_assert(v.refused);
  cr_assert(strstr(v.message, "variables"), "%s", v.message);
  free(df);
  /* a long instruction is quoted short */
  char *lng = malloc(20000);
  cr_assert(lng);
  strcpy(lng, "FROM scratch\nADD http://x/");
  memset(lng + strlen(lng), 'a', 10000);
  strcpy(lng + 26 + 10000, " /f\n");
  v = check(lng);
  cr_assert(v.refused);
  cr_assert_lt(strlen(v.message), sizeof v.message);
  free(lng);
}

Test(dockerfile, nul_bytes_and_binary) {
  static const char df[] = "FROM scratch\nADD \0 http://x/y /f\n";
  jd_dockerfile_verdict v;
  cr_assert_eq(jd_dockerfile_check(&v, df, sizeof df - 1, PATTERNS), 0);
  cr_assert(v.refused);
  cr_assert_eq(v.line, 2);
}

Test(dockerfile, allow_list_setting) {
  char err[256];
  cr_assert_eq(jd_base_images_check("judger/debian:*, gcc:12,,judger-test/*", err, sizeof err), 0);
  cr_assert_eq(jd_base_images_check("", err, sizeof err), 0);
  cr_assert_eq(jd_base_images_check("*", err, sizeof err), 0);
  cr_assert_eq(jd_base_images_check("Bad Name", err, sizeof err), -1);
  cr_assert(strstr(err, "base_images") && strstr(err, "Bad Name"), "%s", err);
  cr_assert_eq(jd_base_images_check("gcc:", err, sizeof err), -1);
  /* the base image is always admitted, the environment images never */
  cr_assert(jd_image_admitted("", JD_BASE_IMAGE, NULL, 0));
  cr_assert(jd_image_admitted("*", "python:3", NULL, 0));
  cr_assert_not(jd_image_admitted("*", "ai-x-run", NULL, 0));
  cr_assert_not(jd_image_admitted("ai-*", "ai-x-build:1", NULL, 0));
  cr_assert_not(jd_image_admitted("*", "judger/build-proxy:1", NULL, 0));
  cr_assert_not(jd_image_admitted("*", "cafe", NULL, 0));
  cr_assert(jd_image_admitted("judger/debian:*", "judger/debian:trixie", NULL, 0));
  cr_assert(jd_image_admitted("python:3*", "python:3.11-slim", NULL, 0));
  cr_assert_not(jd_image_admitted("python:3*", "python:2.7", NULL, 0));
  cr_assert(jd_image_admitted("ghcr.io/org/*", "ghcr.io/org/img:1", NULL, 0));
  cr_assert_not(jd_image_admitted("ghcr.io/org/*", "ghcr.io/other/img:1", NULL, 0));
  cr_assert(jd_image_admitted("python", "python:anything", NULL, 0));
  char why[128];
  cr_assert_not(jd_image_admitted("", "not a ref", why, sizeof why));
  cr_assert(why[0]);
}

/* The setting comes in jd_ctx (cli/settings.h reads $JUDGER_BASE_IMAGES):
 * the library reads no environment. */
Test(dockerfile, setting_precedence) {
  jd_ctx ctx = {.base_images = "a:1"};
  cr_assert_str_eq(jd_base_images(&ctx), "a:1");
  cr_assert_str_eq(jd_base_images(NULL), JD_BASE_IMAGES_DEFAULT);
  setenv("JUDGER_BASE_IMAGES", "b:2", 1);
  ctx.base_images = NULL;
  cr_assert_str_eq(jd_base_images(&ctx), JD_BASE_IMAGES_DEFAULT,
                   "the library reads no environment");
  ctx.base_images = "";
  cr_assert_str_eq(jd_base_images(&ctx), "", "empty: the base image alone");
  unsetenv("JUDGER_BASE_IMAGES");
}

/* Random Dockerfiles assembled from the tokens the reader cares about:
 * never a crash (the ASan build runs this too), and a refusal always names
 * a line. Deterministic: the same seed every run. */
Test(dockerfile, random_input) {
  static const char *const tok[] = {"FROM ",
                                    "scratch",
                                    "ADD ",
                                    "COPY ",
                                    "RUN ",
                                    "ENV ",
                                    "ARG ",
                                    "ONBUILD ",
                                    "AS ",
                                    "--from=",
                                    "--mount=",
                                    "type=cache,",
                                    "from=",
                                    "$",
                                    "${",
                                    "}",
                                    ":-",
                                    ":+",
                                    "\\",
                                    "`",
                                    "\n",
                                    "\r\n",
                                    " ",
                                    "\t",
                                    "\"",
                                    "'",
                                    "=",
                                    "http://",
                                    "x",
                                    "0",
                                    "#",
                                    "# escape=`\n",
                                    "# syntax=x\n",
                                    "[\"",
                                    "\",",
                                    "]",
                                    "\xc2\xa0",
                                    "@sha256:",
                                    "ai-x-run",
                                    "judger-test/b:1",
                                    "\\\n",
                                    "`\n"};
  unsigned seed = 12345;
  char buf[4096];
  long refused_count = 0;
  for (int it = 0; it < 20000; it++) {
    size_t n = 0;
    seed = seed * 1103515245u + 12345u;
    int k = (int)((seed >> 16) % 60);
    for (int i = 0; i < k; i++) {
      seed = seed * 1103515245u + 12345u;
      const char *t = tok[(seed >> 16) % (sizeof tok / sizeof tok[0])];
      size_t l = strlen(t);
      if (n + l >= sizeof buf)
        break;
      memcpy(buf + n, t, l);
      n += l;
    }
    jd_dockerfile_verdict v;
    cr_assert_eq(jd_dockerfile_check(&v, buf, n, PATTERNS), 0);
    if (v.refused) {
      refused_count++;
      cr_assert_geq(v.line, 1, "%.*s", (int)n, buf);
      cr_assert(!strncmp(v.message, "line ", 5), "%s", v.message);
    }
  }
  cr_assert_gt(refused_count, 0);
}

/* The admitted images of the judger's names are listed for the check on
 * the host (jd_dockerfile_images_here): never pulled. */
Test(dockerfile, builtin_images_listed) {
  jd_dockerfile_verdict v = check_with(
      JD_BASE_IMAGES_DEFAULT, "FROM judger-test/busybox:1 AS a\n"
                              "COPY --from=judger-test/busybox:1 / /\n"
                              "FROM " JD_BASE_IMAGE "\nCOPY --from=a / /\n"
                              "FROM judger/debian@sha256:"
                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
  cr_assert(!v.refused, "%s", v.message);
  cr_assert_eq(v.nlocal, 3);
  cr_assert_str_eq(v.local[0].ref, "judger-test/busybox:1");
  cr_assert_eq(v.local[0].line, 1);
  cr_assert_not(v.local[0].base);
  cr_assert_str_eq(v.local[1].ref, JD_BASE_IMAGE);
  cr_assert_eq(v.local[1].line, 3);
  cr_assert(v.local[1].base);
  cr_assert_not(v.local[2].base); /* a digest is not made by the judger */
  /* other names an operator's pattern admits: the engine may pull them */
  v = check_with("judger-test/*,gcc:12", "FROM judger-test/busybox:1\nFROM gcc:12\n");
  cr_assert_eq(v.nlocal, 1);
  cr_assert_str_eq(v.local[0].ref, "judger-test/busybox:1");
  /* more different ones than kept: refused */
  char df[2048] = "";
  for (int i = 0; i < JD_DOCKERFILE_LOCAL_MAX + 1; i++)
    sprintf(df + strlen(df), "FROM judger-test/i%d:1\n", i);
  v = check_with(JD_BASE_IMAGES_DEFAULT, df);
  cr_assert(v.refused);
  cr_assert_eq(v.line, JD_DOCKERFILE_LOCAL_MAX + 1);
}
