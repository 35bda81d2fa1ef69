/* Private to libdockerapi: what the resource modules (containers, images,
 * networks, system, logs) use, gathered. Layers, each calling only those
 * below it: request.c (dk__do: negotiate, then exchange) -> negotiate.c ->
 * http.c (one HTTP exchange) -> pool.c, cancel.c; json.c, url.c and error.c
 * are leaves. */
#ifndef DOCKERAPI_INTERNAL_H
#define DOCKERAPI_INTERNAL_H

#include "error_internal.h"
#include "http.h"
#include "json.h"
#include "request.h"
#include "url.h"

#endif
