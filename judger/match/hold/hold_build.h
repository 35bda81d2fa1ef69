/* judger-hold as a program build's entry point (build/artifacts.h):
 *
 *   judger-hold --build DEPTH CMD [ARG...]
 *
 * /app is a tmpfs of the build container, sized to the build's artifacts
 * cap and counted in its memory: a build that writes 20 GB stops at its
 * own cap (ENOSPC inside the container), and the host's disk never sees
 * more than the artifacts the judger extracts under the same caps. A tmpfs
 * dies with its container and the engine's archive API cannot read it, so
 * the source goes in and the artifacts come out through the shim, PID 1 of
 * the container, running as the build's user:
 *   1. opens the FIFO bound at JD_BUILD_FIFO for writing (the judger holds
 *      it open read+write from before the start: the open never blocks);
 *   2. copies the source, bound read-only at JD_BUILD_SRC, into JD_BUILD_APP
 *      (files, directories, links as links; holes stay holes); a source
 *      that does not fit is the build's failure, exit 126;
 *   3. runs CMD, waits for it, kills whatever it left (kill(-1) as PID 1);
 *   4. when CMD exited 0, writes JD_BUILD_APP as a tar stream into the FIFO:
 *      directories, regular files, symbolic links and FIFOs (the judger
 *      removes those and says so), never following a link, directories
 *      down to DEPTH + 1 levels (the judger refuses past DEPTH: a deeper
 *      tree is CE, not silently cut);
 *   5. exits with CMD's exit code (128+sig for a signal, 127/126 when CMD
 *      cannot be run).
 * The judger reads the FIFO as hostile input (build/sanitise.h: the
 * build's own processes could write into it too), under the caps. */
#ifndef JD_HOLD_BUILD_H
#define JD_HOLD_BUILD_H

#define JD_BUILD_HOLD "/.judger-hold"
#define JD_BUILD_SRC "/.judger-src"
#define JD_BUILD_FIFO "/.judger-artifacts"
#define JD_BUILD_APP "/app"
/* Directory levels the shim copies in and out at most (DEPTH is clamped). */
#define JD_BUILD_DEPTH_MAX 256

#endif
