/* SPDX-License-Identifier: MIT */
/* The entry codec: canonical encoding, every rejection, signatures and payload checks. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/*
 * Byte offsets in the signed header of an entry with seq 1 (prev nil), a timestamp that needs
 * uint64, type "test.entry" and no deps, as th_feed_make() makes it.
 */
enum {
    OFF_ARRAY = 0,
    OFF_VERSION = 1,
    OFF_AUTHOR = 2, /* c4 20 + 32 bytes */
    OFF_SEQ = 36,
    OFF_PREV = 37,
    OFF_TS = 38,   /* cf + 8 bytes */
    OFF_TYPE = 47, /* aa + 10 bytes */
    OFF_DEPS = 58,
    OFF_PLEN = 59,
    OFF_PHASH = 60,
    HEADER_LEN = 94,
};

static struct th_feed feed;

static int setup(void **state)
{
    (void)state;
    th_feed_make(&feed, 7, 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_feed_free(&feed);
    return 0;
}

static int decode(const uint8_t *b, size_t n)
{
    struct store_entry e;
    return store_entry_decode(b, n, &e);
}

/* Replace del bytes at off of entry 0's signed header and decode the result. */
static int decode_spliced(size_t off, size_t del, const uint8_t *ins, size_t inslen)
{
    uint8_t buf[STORE_MAX_SIGNED + 64];
    const struct store_entry *e = &feed.e[0];
    size_t n = th_splice(e->signed_header, e->signed_len, off, del, ins, inslen, buf);
    return decode(buf, n);
}

static void test_layout(void **state)
{
    (void)state;
    const struct store_entry *e = &feed.e[0];
    assert_int_equal(e->header_len, HEADER_LEN);
    assert_int_equal(e->signed_len, HEADER_LEN + STORE_SIG_LEN);
    assert_int_equal(e->signed_header[OFF_ARRAY], 0x99);
    assert_int_equal(e->signed_header[OFF_VERSION], 0x01);
    assert_int_equal(e->signed_header[OFF_SEQ], 0x01);
    assert_int_equal(e->signed_header[OFF_PREV], 0xc0);
    assert_int_equal(e->signed_header[OFF_TS], 0xcf);
    assert_int_equal(e->signed_header[OFF_TYPE], 0xaa);
    assert_int_equal(e->signed_header[OFF_DEPS], 0x90);
    assert_int_equal(e->signed_header[OFF_PHASH], 0xc4);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct store_entry d, e;
    struct store_entry_id deps[2];
    uint8_t payload[32];
    size_t plen = th_payload(300, payload);

    for (int i = 0; i < 2; i++) {
        memcpy(deps[i].author, feed.e[i].author, STORE_KEY_LEN);
        deps[i].seq = feed.e[i].seq;
        memcpy(deps[i].hash, feed.e[i].hash, STORE_HASH_LEN);
    }
    struct store_draft draft = { "handover.completed", 42, deps, 2, payload, plen };
    assert_int_equal(store_entry_sign(&draft, 4, feed.e[2].hash, feed.id.sk, &e), 0);
    assert_int_equal(store_entry_decode(e.signed_header, e.signed_len, &d), 0);
    assert_int_equal(d.version, STORE_VERSION);
    assert_memory_equal(d.author, feed.id.pk, STORE_KEY_LEN);
    assert_int_equal(d.seq, 4);
    assert_true(d.has_prev);
    assert_memory_equal(d.prev_hash, feed.e[2].hash, STORE_HASH_LEN);
    assert_int_equal(d.timestamp_ms, 42);
    assert_string_equal(d.type, "handover.completed");
    assert_int_equal(d.ndeps, 2);
    assert_memory_equal(&d.deps[1], &deps[1], sizeof(deps[1]));
    assert_int_equal(d.payload_len, plen);
    assert_memory_equal(d.hash, e.hash, STORE_HASH_LEN);
    assert_int_equal(store_entry_verify_sig(&d), 0);
    assert_int_equal(store_entry_check_payload(&d, payload, plen), 0);

    /* Widths at every msgpack boundary of seq and timestamp still round-trip canonically. */
    static const uint64_t values[] = { 1,     127,   128,           255,           256,
                                       65535, 65536, 4294967295ull, 4294967296ull, INT64_MAX };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct store_draft dr = { "t", values[i], NULL, 0, payload, plen };
        assert_int_equal(
            store_entry_sign(&dr, values[i], values[i] > 1 ? feed.e[0].hash : NULL, feed.id.sk, &e),
            0);
        assert_int_equal(e.seq, values[i]);
        assert_int_equal(e.timestamp_ms, values[i]);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    const struct store_entry *e = &feed.e[1];
    for (size_t n = 0; n < e->signed_len; n++)
        assert_int_equal(decode(e->signed_header, n), KN_ETRUNC);
}

static void test_trailing(void **state)
{
    (void)state;
    uint8_t buf[STORE_MAX_SIGNED + 1];
    memcpy(buf, feed.e[0].signed_header, feed.e[0].signed_len);
    buf[feed.e[0].signed_len] = 0;
    assert_int_equal(decode(buf, feed.e[0].signed_len + 1), KN_ETRAIL);
}

static void test_non_shortest(void **state)
{
    (void)state;
    /* seq 1 as uint8, uint16, uint32, uint64 instead of a fixint */
    static const uint8_t u8[] = { 0xcc, 0x01 }, u16[] = { 0xcd, 0x00, 0x01 },
                         u32[] = { 0xce, 0, 0, 0, 1 }, u64[] = { 0xcf, 0, 0, 0, 0, 0, 0, 0, 1 };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, u8, sizeof(u8)), KN_ENONCANON);
    assert_int_equal(decode_spliced(OFF_SEQ, 1, u16, sizeof(u16)), KN_ENONCANON);
    assert_int_equal(decode_spliced(OFF_SEQ, 1, u32, sizeof(u32)), KN_ENONCANON);
    assert_int_equal(decode_spliced(OFF_SEQ, 1, u64, sizeof(u64)), KN_ENONCANON);
    /* seq 1 as a signed int8 holding a positive number */
    static const uint8_t i8[] = { 0xd0, 0x01 };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, i8, sizeof(i8)), KN_ENONCANON);
    /* the timestamp 1.7e12 needs 8 bytes; no gain possible, but a uint32 that fits in uint16 */
    static const uint8_t plen32[] = { 0xce, 0, 0, 0, 5 };
    assert_int_equal(decode_spliced(OFF_PLEN, 1, plen32, sizeof(plen32)), KN_ENONCANON);
    /* the type as str8 instead of fixstr */
    uint8_t str8[12] = { 0xd9, 10 };
    memcpy(str8 + 2, "test.entry", 10);
    assert_int_equal(decode_spliced(OFF_TYPE, 11, str8, sizeof(str8)), KN_ENONCANON);
    /* the array of nine as array16 */
    static const uint8_t arr16[] = { 0xdc, 0x00, 0x09 };
    assert_int_equal(decode_spliced(OFF_ARRAY, 1, arr16, sizeof(arr16)), KN_ENONCANON);
    /* the author as bin16 */
    uint8_t bin16[35] = { 0xc5, 0x00, 0x20 };
    memcpy(bin16 + 3, feed.e[0].signed_header + OFF_AUTHOR + 2, 32);
    assert_int_equal(decode_spliced(OFF_AUTHOR, 34, bin16, sizeof(bin16)), KN_ENONCANON);
}

static void test_wrong_types(void **state)
{
    (void)state;
    static const uint8_t str_seq[] = { 0xa1, '1' };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, str_seq, sizeof(str_seq)), KN_ETYPE);
    static const uint8_t neg_seq[] = { 0xff };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, neg_seq, 1), KN_ETYPE);
    static const uint8_t float_ts[] = { 0xcb, 0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0x00, 0x00 };
    assert_int_equal(decode_spliced(OFF_TS, 9, float_ts, sizeof(float_ts)), KN_ETYPE);
    static const uint8_t uint_type[] = { 0x05 };
    assert_int_equal(decode_spliced(OFF_TYPE, 11, uint_type, 1), KN_ETYPE);
    static const uint8_t map_deps[] = { 0x80 };
    assert_int_equal(decode_spliced(OFF_DEPS, 1, map_deps, 1), KN_ETYPE);
    /* the author as a string of 32 bytes */
    uint8_t str_author[34] = { 0xd9, 32 };
    memset(str_author + 2, 'a', 32);
    assert_int_equal(decode_spliced(OFF_AUTHOR, 34, str_author, sizeof(str_author)), KN_ETYPE);
    /* not an array at all */
    static const uint8_t map[] = { 0x89 };
    assert_int_equal(decode_spliced(OFF_ARRAY, 1, map, 1), KN_ETYPE);
    static const uint8_t reserved[] = { 0xc1 };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, reserved, 1), KN_EMALFORMED);
}

static void test_version(void **state)
{
    (void)state;
    static const uint8_t v2[] = { 0x02 }, v0[] = { 0x00 };
    assert_int_equal(decode_spliced(OFF_VERSION, 1, v2, 1), KN_EVERSION);
    assert_int_equal(decode_spliced(OFF_VERSION, 1, v0, 1), KN_EVERSION);
    /* a later version may have another number of fields: the version is reported first */
    static const uint8_t ten[] = { 0x9a, 0x02 };
    assert_int_equal(decode_spliced(OFF_ARRAY, 2, ten, 2), KN_EVERSION);
}

static void test_fields(void **state)
{
    (void)state;
    static const uint8_t eight[] = { 0x98 };
    assert_int_equal(decode_spliced(OFF_ARRAY, 1, eight, 1), KN_EFIELD);
    static const uint8_t seq0[] = { 0x00 };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, seq0, 1), KN_EFIELD);
    /* seq 2 with a nil prev_hash, and seq 1 with one */
    static const uint8_t seq2[] = { 0x02 };
    assert_int_equal(decode_spliced(OFF_SEQ, 1, seq2, 1), KN_EPREV);
    uint8_t prev[34] = { 0xc4, 0x20 };
    assert_int_equal(decode_spliced(OFF_PREV, 1, prev, sizeof(prev)), KN_EPREV);
    /* a 31-byte author */
    static const uint8_t short_author[] = { 0xc4, 0x1f };
    assert_int_equal(decode_spliced(OFF_AUTHOR, 2, short_author, 2), KN_EFIELD);
    /* type with a capital letter, and an empty type */
    uint8_t bad_type[11] = { 0xaa };
    memcpy(bad_type + 1, "Test.entry", 10);
    assert_int_equal(decode_spliced(OFF_TYPE, 11, bad_type, sizeof(bad_type)), KN_EFIELD);
    static const uint8_t empty_type[] = { 0xa0 };
    assert_int_equal(decode_spliced(OFF_TYPE, 11, empty_type, 1), KN_EFIELD);
    /* a dep with seq 0 */
    uint8_t dep[1 + 1 + 34 + 1 + 34] = { 0x91, 0x93, 0xc4, 0x20 };
    dep[36] = 0x00;
    dep[37] = 0xc4;
    dep[38] = 0x20;
    assert_int_equal(decode_spliced(OFF_DEPS, 1, dep, sizeof(dep)), KN_EFIELD);
}

static void test_too_big(void **state)
{
    (void)state;
    /* payload_len 65537 */
    static const uint8_t plen[] = { 0xce, 0x00, 0x01, 0x00, 0x01 };
    assert_int_equal(decode_spliced(OFF_PLEN, 1, plen, sizeof(plen)), KN_ETOOBIG);
    /* 17 deps */
    uint8_t deps[3 + 17 * 71];
    size_t n = 0;
    deps[n++] = 0xdc;
    deps[n++] = 0x00;
    deps[n++] = 17;
    for (int i = 0; i < 17; i++) {
        deps[n++] = 0x93;
        deps[n++] = 0xc4;
        deps[n++] = 0x20;
        memset(deps + n, i, 32);
        n += 32;
        deps[n++] = 0x01;
        deps[n++] = 0xc4;
        deps[n++] = 0x20;
        memset(deps + n, i, 32);
        n += 32;
    }
    assert_int_equal(decode_spliced(OFF_DEPS, 1, deps, n), KN_ETOOBIG);
    /* more bytes than any signed header may have */
    uint8_t *big = calloc(1, STORE_MAX_SIGNED + 1);
    assert_int_equal(decode(big, STORE_MAX_SIGNED + 1), KN_ETOOBIG);
    free(big);
    /* a draft over the limits is refused before signing */
    uint8_t *payload = calloc(1, STORE_MAX_PAYLOAD + 8);
    payload[0] = 0xc6; /* bin32 of 65536 bytes: a canonical value, one byte too many */
    payload[1] = 0x00;
    payload[2] = 0x01;
    payload[3] = 0x00;
    payload[4] = 0x00;
    struct store_entry e;
    struct store_draft d = { "t", 1, NULL, 0, payload, STORE_MAX_PAYLOAD + 5 };
    assert_int_equal(store_entry_sign(&d, 1, NULL, feed.id.sk, &e), KN_EINVAL);
    assert_int_equal(store_payload_check(payload, STORE_MAX_PAYLOAD + 5), KN_ETOOBIG);
    free(payload);
}

static void test_signature(void **state)
{
    (void)state;
    struct store_entry e;
    uint8_t buf[STORE_MAX_SIGNED];
    const struct store_entry *orig = &feed.e[1];

    /* any flipped bit in the header or the signature is caught */
    for (size_t i = 0; i < orig->signed_len; i++) {
        memcpy(buf, orig->signed_header, orig->signed_len);
        buf[i] ^= 0x01;
        if (store_entry_decode(buf, orig->signed_len, &e) == 0)
            assert_int_equal(store_entry_verify_sig(&e), KN_ESIG);
    }
    assert_int_equal(store_entry_verify_sig(orig), 0);
}

static void test_payload_hash(void **state)
{
    (void)state;
    uint8_t p[32];
    memcpy(p, feed.payload[0], feed.plen[0]);
    assert_int_equal(store_entry_check_payload(&feed.e[0], p, feed.plen[0]), 0);
    p[feed.plen[0] - 1] ^= 1;
    assert_int_equal(store_entry_check_payload(&feed.e[0], p, feed.plen[0]), KN_EPAYLOAD);
    assert_int_equal(store_entry_check_payload(&feed.e[0], p, feed.plen[0] - 1), KN_EPAYLOAD);
}

struct payload_case {
    const char *what;
    const char *hex;
    int err;
};

static size_t unhex_any(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    assert_int_equal(store_unhex(hex, out, n), 0);
    return n;
}

static void test_payload_canonical(void **state)
{
    (void)state;
    static const struct payload_case cases[] = {
        { "nil", "c0", 0 },
        { "true", "c3", 0 },
        { "fixint", "7f", 0 },
        { "uint8 128", "cc80", 0 },
        { "uint8 127", "cc7f", KN_ENONCANON },
        { "uint16 255", "cd00ff", KN_ENONCANON },
        { "negative fixint -32", "e0", 0 },
        { "int8 -33", "d0df", 0 },
        { "int8 -32", "d0e0", KN_ENONCANON },
        { "int8 positive", "d005", KN_ENONCANON },
        { "int16 -128", "d1ff80", KN_ENONCANON },
        { "int16 -129", "d1ff7f", 0 },
        { "float32", "ca3f800000", KN_ETYPE },
        { "float64", "cb3ff0000000000000", KN_ETYPE },
        { "ext", "d40100", KN_ETYPE },
        { "reserved", "c1", KN_EMALFORMED },
        { "str", "a3616263", 0 },
        { "str8 short", "d903616263", KN_ENONCANON },
        { "bad utf-8", "a2c328", KN_EFIELD },
        { "overlong utf-8", "a2c0af", KN_EFIELD },
        { "bin", "c40101", 0 },
        { "map sorted", "82a16101a16202", 0 },
        { "map unsorted", "82a16201a16102", KN_EKEYORDER },
        { "map duplicate", "82a16101a16102", KN_EKEYORDER },
        { "map prefix order", "82a16101a2616102", 0 },
        { "map int key", "810101", KN_ETYPE },
        { "map16 small", "de0001a16101", KN_ENONCANON },
        { "array32 huge", "ddffffffff", KN_ETRUNC },
        { "map32 huge", "dfffffffff", KN_ETRUNC },
        { "str32 huge", "dbffffffff", KN_ETRUNC },
        { "trailing", "c0c0", KN_ETRAIL },
        { "empty", "", KN_ETRUNC },
    };
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = unhex_any(cases[i].hex, buf);
        int r = store_payload_check(buf, n);
        if (r != cases[i].err)
            fail_msg("%s: got %s, want %s", cases[i].what, kn_errname(r), kn_errname(cases[i].err));
    }
    /* nesting: 32 levels pass, 33 do not */
    uint8_t deep[40];
    memset(deep, 0x91, sizeof(deep));
    deep[32] = 0xc0;
    assert_int_equal(store_payload_check(deep, 33), 0);
    deep[32] = 0x91;
    deep[33] = 0xc0;
    assert_int_equal(store_payload_check(deep, 34), KN_EDEPTH);
    deep[32] = 0x90; /* a 33rd level, empty */
    assert_int_equal(store_payload_check(deep, 33), KN_EDEPTH);
    deep[32] = 0x80;
    assert_int_equal(store_payload_check(deep, 33), KN_EDEPTH);
}

static void test_draft_limits(void **state)
{
    (void)state;
    struct store_entry e;
    uint8_t p[] = { 0xc0 }, f[] = { 0xca, 0, 0, 0, 0 };
    struct store_draft bad_type = { "Bad Type", 1, NULL, 0, p, 1 };
    assert_int_equal(store_entry_sign(&bad_type, 1, NULL, feed.id.sk, &e), KN_EINVAL);
    struct store_draft floaty = { "t", 1, NULL, 0, f, sizeof(f) };
    assert_int_equal(store_entry_sign(&floaty, 1, NULL, feed.id.sk, &e), KN_ETYPE);
    struct store_draft ok = { "t", 1, NULL, 0, p, 1 };
    /* seq 2 needs a prev, seq 1 must not have one */
    assert_int_equal(store_entry_sign(&ok, 2, NULL, feed.id.sk, &e), KN_EINVAL);
    assert_int_equal(store_entry_sign(&ok, 1, feed.e[0].hash, feed.id.sk, &e), KN_EINVAL);
    assert_int_equal(store_entry_sign(&ok, 1, NULL, feed.id.sk, &e), 0);
}

static void test_errors(void **state)
{
    (void)state;
    assert_string_equal(kn_errname(KN_ESIG), "KN_ESIG");
    assert_string_equal(kn_strerror(KN_ESIG), "bad signature");
    assert_string_equal(kn_strerror(-ENOENT), strerror(ENOENT));
    /* every code has its own message */
    for (int a = KN_ERROR_BASE_ + 1; a < KN_ERROR_END_; a++)
        for (int b = a + 1; b < KN_ERROR_END_; b++)
            assert_string_not_equal(kn_strerror(a), kn_strerror(b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),    cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_non_shortest), cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_version),      cmocka_unit_test(test_fields),
        cmocka_unit_test(test_too_big),      cmocka_unit_test(test_signature),
        cmocka_unit_test(test_payload_hash), cmocka_unit_test(test_payload_canonical),
        cmocka_unit_test(test_draft_limits), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("codec", tests, setup, teardown);
}
