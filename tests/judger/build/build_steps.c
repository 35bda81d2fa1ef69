// test-labels: unit
/* The step lines of a build's stream, from real streams: Docker 20.10's
 * classic builder and Podman 4.3.1's compat build (the same Dockerfiles,
 * built twice: the second from the cache). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_steps.h"
#include "support.h"

/* Feeds lines (NULL-ended) as the watcher does; the numbers of the steps
 * started and the ids reported, comma-separated. */
static void feed(char *steps, char *ids, size_t cap, const char *const *lines) {
  jd_build_steps s = {0};
  steps[0] = ids[0] = '\0';
  for (const char *const *l = lines; *l; l++) {
    int number = -1;
    char id[13] = "";
    jd_step_event ev = jd_build_steps_line(&s, &number, id, *l, strlen(*l));
    if (ev == JD_STEP_START)
      snprintf(steps + strlen(steps), cap - strlen(steps), "%s%d", *steps ? "," : "", number);
    if (ev == JD_STEP_RESULT)
      snprintf(ids + strlen(ids), cap - strlen(ids), "%s%s", *ids ? "," : "", id);
  }
}

Test(build_steps, docker_classic_builder) {
  /* Docker sends a step line and its newline as two messages. */
  static const char *const first[] = {"Step 1/5 : FROM judger/debian:bookworm AS a",
                                      "",
                                      " ---> 4566d3f13981",
                                      "Step 2/5 : RUN echo stage-a-6011 > /x",
                                      "",
                                      " ---> Running in 9beb1e61fff3",
                                      "Removing intermediate container 9beb1e61fff3",
                                      " ---> fd45dd220d5f",
                                      "Step 3/5 : FROM judger/debian:bookworm",
                                      " ---> 4566d3f13981",
                                      "Step 4/5 : COPY --from=a /x /y",
                                      " ---> 6f2492b311e4",
                                      "Step 5/5 : RUN echo b-6011",
                                      " ---> Running in 386b6beb0bbf",
                                      "b-6011",
                                      "Removing intermediate container 386b6beb0bbf",
                                      " ---> f0d3423a3c6d",
                                      "Successfully built f0d3423a3c6d",
                                      "Successfully tagged podbuild-probe:3",
                                      NULL};
  char steps[256], ids[256];
  feed(steps, ids, sizeof steps, first);
  cr_assert_str_eq(steps, "1,2,3,4,5");
  cr_assert_str_eq(ids, "fd45dd220d5f,6f2492b311e4,f0d3423a3c6d", "not the FROMs' bases");
  static const char *const cached[] = {"Step 1/3 : FROM judger/debian:bookworm AS a",
                                       " ---> 4566d3f13981",
                                       "Step 2/3 : RUN echo stage-a-6011 > /x",
                                       " ---> Using cache",
                                       " ---> fd45dd220d5f",
                                       "Step 3/3 : RUN echo b-6011",
                                       " ---> Running in 386b6beb0bbf",
                                       " ---> f0d3423a3c6d",
                                       NULL};
  feed(steps, ids, sizeof steps, cached);
  cr_assert_str_eq(steps, "1,2,3");
  cr_assert_str_eq(ids, "f0d3423a3c6d", "a cache hit's image is not this build's");
}

Test(build_steps, podman_single_stage) {
  static const char *const first[] = {
      "STEP 1/5: FROM judger/debian:bookworm",
      "STEP 2/5: ENV PODBUILD=1",
      "--> ce758bd568b",
      "STEP 3/5: RUN echo hello-podbuild-6011",
      "hello-podbuild-6011",
      "--> bcbabc82084",
      "STEP 4/5: LABEL podbuild=1",
      "--> 6558f611ff2",
      "STEP 5/5: RUN echo second",
      "second",
      "COMMIT docker.io/library/podbuild-probe:1",
      "--> 5a2b075d02b",
      "Successfully tagged docker.io/library/podbuild-probe:1",
      "5a2b075d02b7a594f4e4ef8c239739d0946faddde99fab84de0bd7bf426c32ef",
      "Successfully built 5a2b075d02b7",
      NULL};
  char steps[256], ids[256];
  feed(steps, ids, sizeof steps, first);
  cr_assert_str_eq(steps, "1,2,3,4,5");
  cr_assert_str_eq(ids, "ce758bd568b,bcbabc82084,6558f611ff2,5a2b075d02b");
  static const char *const cached[] = {
      "STEP 1/3: FROM judger/debian:bookworm",
      "STEP 2/3: ENV PODBUILD=1",
      "--> Using cache ce758bd568b65984c6a5df47de8e0547953faaff067a67e32652c96447a5414c",
      "--> ce758bd568b",
      "STEP 3/3: RUN echo hello-podbuild-6011",
      "hello-podbuild-6011",
      "COMMIT docker.io/library/podbuild-probe:1",
      "--> 1a2b3c4d5e6",
      NULL};
  feed(steps, ids, sizeof steps, cached);
  cr_assert_str_eq(steps, "1,2,3");
  cr_assert_str_eq(ids, "1a2b3c4d5e6", "a cache hit's image is not this build's");
}

Test(build_steps, podman_stages_count_on_like_dockers) {
  static const char *const lines[] = {"[1/2] STEP 1/2: FROM judger/debian:bookworm AS a",
                                      "[1/2] STEP 2/2: RUN echo stage-a-6011 > /x",
                                      "--> f0b71a724cc",
                                      "[2/2] STEP 1/3: FROM judger/debian:bookworm",
                                      "[2/2] STEP 2/3: COPY --from=a /x /y",
                                      "--> 90129bcb4c8",
                                      "[2/2] STEP 3/3: RUN false",
                                      NULL};
  char steps[256], ids[256];
  feed(steps, ids, sizeof steps, lines);
  cr_assert_str_eq(steps, "1,2,3,4,5", "the numbers Docker gives the same Dockerfile");
  cr_assert_str_eq(ids, "f0b71a724cc,90129bcb4c8");
  /* The last step line stays as sent: the failing step of a message. */
  jd_build_steps s = {0};
  int number = 0;
  char id[13];
  for (const char *const *l = lines; *l; l++)
    (void)jd_build_steps_line(&s, &number, id, *l, strlen(*l));
  cr_assert_str_eq(s.step, "[2/2] STEP 3/3: RUN false");
}

Test(build_steps, near_misses_are_other_lines) {
  static const char *const lines[] = {"Step 1/2 :FROM x",
                                      "Step x/2 : RUN a",
                                      "Step 3/2 : RUN a",
                                      "Step 1234567/9999999 : RUN a",
                                      "STEP 1/2 RUN a",
                                      "step 1/2: RUN a",
                                      "[1/2 STEP 1/2: RUN a",
                                      "[1/2]STEP 1/2: RUN a",
                                      " STEP 1/2: RUN a",
                                      "Step ",
                                      "STEP 1/",
                                      "[",
                                      NULL};
  char steps[256], ids[256];
  feed(steps, ids, sizeof steps, lines);
  cr_assert_str_eq(steps, "");
  static const char *const results[] = {"Step 1/1 : RUN a",
                                        " ---> 0123456789a",
                                        " ---> 0123456789abc",
                                        " ---> 0123456789AB",
                                        " ---> 0123456789ab ",
                                        "--> 0123456789",
                                        "--> 0123456789abc",
                                        "-->  0123456789a",
                                        "---> 0123456789ab",
                                        " ---> Running in 386b6beb0bbf",
                                        "--> Using cache abc",
                                        "--> 0123456789g",
                                        NULL};
  feed(steps, ids, sizeof steps, results);
  cr_assert_str_eq(steps, "1");
  cr_assert_str_eq(ids, "");
  /* "--> Using cache" without a full id is no cache hit: the next id counts. */
  static const char *const after[] = {"STEP 2/2: RUN b", "--> Using cache abc", "--> 0123456789a",
                                      NULL};
  feed(steps, ids, sizeof steps, after);
  cr_assert_str_eq(ids, "0123456789a");
}

Test(build_steps, a_long_line_is_read_only_in_part) {
  size_t n = 1 << 20;
  char *line = malloc(n);
  cr_assert_not_null(line);
  memset(line, 'a', n);
  memcpy(line, "STEP 2/3: RUN ", 14);
  jd_build_steps s = {0};
  int number = 0;
  char id[13];
  cr_assert_eq(jd_build_steps_line(&s, &number, id, line, n), JD_STEP_START);
  cr_assert_eq(number, 2);
  cr_assert_eq(strlen(s.step), sizeof s.step - 1, "the step kept, cut");
  memcpy(line, "--> ", 4);
  cr_assert_eq(jd_build_steps_line(&s, &number, id, line, n), JD_STEP_OTHER);
  free(line);
}
