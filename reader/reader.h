/* SPDX-License-Identifier: MIT */
#ifndef KN_READER_H
#define KN_READER_H

/*
 * reader - the PC/SC card reader at the hand-over table, through pcsc-lite.
 *
 * So far: listing the readers pcscd knows. Watching readers and identifying cards builds on this
 * (see docs/architecture.md). pcsc-lite calls block; callers run these off the event loop.
 */

#include <stddef.h>

#include "kn.h"

#define READER_MAX_READERS 16
#define READER_MAX_NAME    128

struct reader_list {
    size_t count;
    char names[READER_MAX_READERS][READER_MAX_NAME];
};

/*
 * reader_list_get() - the names of the readers pcscd currently has. Blocks for at most as long as
 * pcscd takes to answer. Returns 0 (count may be 0), KN_ENOPCSCD when the service is not running,
 * or KN_EPCSC for another PC/SC failure. Thread-safe.
 */
int reader_list_get(struct reader_list *out);

#endif
