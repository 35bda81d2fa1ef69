/* libdockerapi — a C client of the Docker Engine API.
 *
 * Conventions (libgit2's): functions that can fail return 0 or a negative
 * dk_error_code; results come out through out-parameters listed first; what
 * comes out through **out belongs to the caller and is freed with the
 * matching *_free(), which accepts NULL. The library never prints and never
 * exits; dk_error_last() tells what went wrong.
 */
#ifndef DOCKERAPI_H
#define DOCKERAPI_H

#include "buf.h"
#include "cancel.h"
#include "client.h"
#include "containers.h"
#include "counts.h"
#include "error.h"
#include "images.h"
#include "networks.h"
#include "stream.h"
#include "system.h"
#include "tar.h"
#include "types.h"

#endif
