/* The judger's version: printed by `judger --version`, written in every
 * host heartbeat. */
#ifndef JD_VERSION_H
#define JD_VERSION_H

#define JD_VERSION "0.1.0"

#endif
