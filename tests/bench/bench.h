/* SPDX-License-Identifier: MIT */
#ifndef KN_BENCH_H
#define KN_BENCH_H

/* What every benchmark in tests/bench/ needs: a clock, memory, identities, scratch space. */

#include <stdint.h>

#include "store.h"

/* bench_now() - seconds on the monotonic clock. */
double bench_now(void);
/* bench_peak_rss_mb() - this process's peak resident set so far, in MiB. */
double bench_peak_rss_mb(void);
/* bench_identity() - a key pair from a seed of one repeated byte (no file); abort on failure.
 * Release with store_identity_finish(). */
void bench_identity(struct store_identity *id, uint8_t seed_byte);
/* bench_remove_dir() - remove dir and the plain files in it. */
void bench_remove_dir(const char *dir);
/* bench_fs_name() - the kind of file system dir is on (fsync costs differ). */
const char *bench_fs_name(const char *dir);

#endif
