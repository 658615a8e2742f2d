/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "fuzz.h"
#include "store.h"

static int sbuf_write(void *data, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(data, buf, len);
}

static void pack_bin(msgpack_packer *pk, const uint8_t *b, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, b, n);
}

/*
 * Encode the decoded fields again with msgpack-c's packer (shortest forms only). A decoder that
 * accepts exactly the canonical encoding gets back the bytes it was given.
 */
static void check_reencode(const struct store_entry *e)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t tlen = strlen(e->type);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, sbuf_write);
    msgpack_pack_array(&pk, 9);
    msgpack_pack_uint64(&pk, e->version);
    pack_bin(&pk, e->author, STORE_KEY_LEN);
    msgpack_pack_uint64(&pk, e->seq);
    if (e->has_prev)
        pack_bin(&pk, e->prev_hash, STORE_HASH_LEN);
    else
        msgpack_pack_nil(&pk);
    msgpack_pack_uint64(&pk, e->timestamp_ms);
    msgpack_pack_str(&pk, tlen);
    msgpack_pack_str_body(&pk, e->type, tlen);
    msgpack_pack_array(&pk, e->ndeps);
    for (size_t i = 0; i < e->ndeps; i++) {
        msgpack_pack_array(&pk, 3);
        pack_bin(&pk, e->deps[i].author, STORE_KEY_LEN);
        msgpack_pack_uint64(&pk, e->deps[i].seq);
        pack_bin(&pk, e->deps[i].hash, STORE_HASH_LEN);
    }
    msgpack_pack_uint64(&pk, e->payload_len);
    pack_bin(&pk, e->payload_hash, STORE_HASH_LEN);

    FUZZ_CHECK(sb.size == e->header_len);
    FUZZ_CHECK(memcmp(sb.data, e->signed_header, sb.size) == 0);
    msgpack_sbuffer_destroy(&sb);
}

static int type_valid(const char *t)
{
    size_t n = strnlen(t, STORE_MAX_TYPE + 1);
    if (n == 0 || n > STORE_MAX_TYPE)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct store_entry e; /* 3 KiB: kept off the stack */
    uint8_t h[STORE_HASH_LEN];

    if (sodium_init() < 0)
        abort();
    if (store_entry_decode(data, size, &e) != 0)
        return 0;

    FUZZ_CHECK(e.version == STORE_VERSION);
    FUZZ_CHECK(e.signed_len == size);
    FUZZ_CHECK(e.header_len + STORE_SIG_LEN == size);
    FUZZ_CHECK(e.header_len <= STORE_MAX_HEADER);
    FUZZ_CHECK(memcmp(e.signed_header, data, size) == 0);
    FUZZ_CHECK(memchr(e.type, '\0', sizeof(e.type)) != NULL);
    FUZZ_CHECK(type_valid(e.type));
    FUZZ_CHECK(e.ndeps <= STORE_MAX_DEPS);
    for (size_t i = 0; i < e.ndeps; i++)
        FUZZ_CHECK(e.deps[i].seq != 0);
    FUZZ_CHECK(e.seq >= 1 && e.seq <= INT64_MAX);
    FUZZ_CHECK(e.has_prev == (e.seq > 1));
    FUZZ_CHECK(e.payload_len <= STORE_MAX_PAYLOAD);
    crypto_generichash(h, sizeof(h), data, size, NULL, 0);
    FUZZ_CHECK(memcmp(h, e.hash, sizeof(h)) == 0);
    check_reencode(&e);

    int r = store_entry_verify_sig(&e);
    FUZZ_CHECK(r == 0 || r == KN_ESIG);
    return 0;
}
