/* SPDX-License-Identifier: MIT */
#ifndef KN_STORE_INTERNAL_H
#define KN_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* msgpack-c packer writing into a fixed buffer; overflow is remembered, not written. */
struct store__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int overflow;
};
int store__buf_write(void *data, const char *buf, size_t len);

void store__hash(const uint8_t *buf, size_t len, uint8_t out[STORE_HASH_LEN]);

#endif
