/* SPDX-License-Identifier: MIT */
#ifndef KN_FUZZ_H
#define KN_FUZZ_H

/*
 * fuzz.h - what every fuzz target of kortnod shares. A target is one libFuzzer entry point; it is
 * linked either with libFuzzer (-Dfuzz=true, clang) or with driver.c, the standalone runner that
 * `meson test --suite fuzz` uses with any compiler.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * LLVMFuzzerTestOneInput() - run the target over data[0..size). Returns 0; a broken invariant
 * aborts the process (FUZZ_CHECK), and so does anything the sanitizers catch. data belongs to
 * the caller and is only read.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * FUZZ_CHECK() - an invariant of the code under test. Not assert(): release builds define
 * NDEBUG, and a fuzz target must check the same things in every build.
 */
#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#endif
