/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "helpers.h"

void th_identity(struct store_identity *id, uint8_t seed_byte)
{
    uint8_t seed[32];
    assert_true(sodium_init() >= 0);
    memset(seed, seed_byte, sizeof(seed));
    id->sk = sodium_malloc(STORE_SECRET_LEN);
    assert_non_null(id->sk);
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

size_t th_payload(uint64_t i, uint8_t *buf)
{
    /* fixmap 1 { fixstr "i" : i as the shortest uint } */
    size_t n = 0;
    int w = i < 0x80 ? 0 : i < 0x100 ? 1 : i < 0x10000 ? 2 : i < 0x100000000ull ? 4 : 8;
    buf[n++] = 0x81;
    buf[n++] = 0xa1;
    buf[n++] = 'i';
    if (w == 0) {
        buf[n++] = (uint8_t)i;
    } else {
        buf[n++] = w == 1 ? 0xcc : w == 2 ? 0xcd : w == 4 ? 0xce : 0xcf;
        for (int k = w - 1; k >= 0; k--)
            buf[n++] = (uint8_t)(i >> (8 * k));
    }
    assert_int_equal(store_payload_check(buf, n), 0);
    return n;
}

void th_feed_make(struct th_feed *f, uint8_t seed_byte, size_t n)
{
    memset(f, 0, sizeof(*f));
    th_identity(&f->id, seed_byte);
    f->n = n;
    f->e = calloc(n ? n : 1, sizeof(*f->e));
    f->payload = calloc(n ? n : 1, sizeof(*f->payload));
    f->plen = calloc(n ? n : 1, sizeof(*f->plen));
    assert_non_null(f->e);
    for (size_t i = 0; i < n; i++) {
        f->plen[i] = th_payload(i + 1, f->payload[i]);
        struct store_draft d = { "test.entry", 1700000000000ull + i, NULL, 0, f->payload[i],
                                 f->plen[i] };
        assert_int_equal(
            store_entry_sign(&d, i + 1, i ? f->e[i - 1].hash : NULL, f->id.sk, &f->e[i]), 0);
    }
}

void th_feed_free(struct th_feed *f)
{
    store_identity_finish(&f->id);
    free(f->e);
    free(f->payload);
    free(f->plen);
}

struct store_raw th_raw(const struct th_feed *f, size_t i)
{
    struct store_raw r = { f->e[i].signed_header, f->e[i].signed_len, f->payload[i], f->plen[i] };
    return r;
}

struct store *th_store(char path[64])
{
    struct store *s = NULL;
    snprintf(path, 64, "/tmp/kn-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(store_open(path, STORE_SYNC_NORMAL, &s), 0);
    return s;
}

void th_store_close(struct store *s, char path[64])
{
    char p[80];
    store_close(s);
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

size_t th_splice(const uint8_t *src, size_t len, size_t off, size_t del, const uint8_t *ins,
                 size_t inslen, uint8_t *out)
{
    memcpy(out, src, off);
    memcpy(out + off, ins, inslen);
    memcpy(out + off + inslen, src + off + del, len - off - del);
    return len - del + inslen;
}
