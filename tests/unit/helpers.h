/* SPDX-License-Identifier: MIT */
#ifndef KN_TEST_HELPERS_H
#define KN_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include "store.h"

/* A feed made in memory: entries signed in order by one identity, with their payloads. */
struct th_feed {
    struct store_identity id;
    size_t n;
    struct store_entry *e;  /* e[i] is seq i + 1 */
    uint8_t (*payload)[32]; /* canonical msgpack {"i": seq} */
    size_t *plen;
};

/* th_identity() - a key pair from a seed made of one repeated byte; no file. */
void th_identity(struct store_identity *id, uint8_t seed_byte);

/* th_payload() - a canonical payload {"i": i} into buf (room for 32); returns its length. */
size_t th_payload(uint64_t i, uint8_t *buf);

/* th_feed_make() - n entries of the feed of th_identity(seed_byte). */
void th_feed_make(struct th_feed *f, uint8_t seed_byte, size_t n);
void th_feed_free(struct th_feed *f);

/* th_raw() - entry i (0-based) of f as travelling bytes. */
struct store_raw th_raw(const struct th_feed *f, size_t i);

/* th_store() - a store in a fresh temporary file (removed by th_store_close). */
struct store *th_store(char path[64]);
void th_store_close(struct store *s, char path[64]);

/* th_splice() - copy src with del bytes at off replaced by ins; returns the new length. */
size_t th_splice(const uint8_t *src, size_t len, size_t off, size_t del, const uint8_t *ins,
                 size_t inslen, uint8_t *out);

#endif
