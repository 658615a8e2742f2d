/* SPDX-License-Identifier: MIT */
/*
 * The golden test vector: a fixed key and fixed entries must give exactly the bytes and hashes in
 * tests/vectors/log-v1.txt (also shown in docs/log-format.md). Any change to the encoding breaks
 * this test; Ed25519 signatures are deterministic, so the bytes are too.
 * `test_vectors --write` prints the vector file for the current code (for a new format version).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "helpers.h"

#define NENTRIES 3

struct vec_entry {
    const char *type;
    uint64_t timestamp_ms;
    const char *payload_hex;
    int dep; /* 0: none, else the 1-based entry this one depends on */
};

/* Canonical msgpack written by hand:
 * 1: {"kind":"organisation","office":"storuman","town":"Storuman"}
 * 2: {"card":"SITHS","office":"storuman","order":"ORD-1001"}
 * 3: {"id_checked":true,"order":"ORD-1001","pin_envelope":true,"serial":1234567} */
static const struct vec_entry entries[NENTRIES] = {
    { "office.registered", 1767225600000ull,
      "83a46b696e64ac6f7267616e69736174696f6ea66f6666696365a873746f72756d616ea4746f776ea853746f72"
      "756d616e",
      0 },
    { "order.placed", 1767225660000ull,
      "83a463617264a55349544853a66f6666696365a873746f72756d616ea56f72646572a84f52442d31303031", 1 },
    { "handover.completed", 1769904000000ull,
      "84aa69645f636865636b6564c3a56f72646572a84f52442d31303031ac70696e5f656e76656c6f7065c3a67365"
      "7269616cce0012d687",
      2 },
};

static void make(struct store_identity *id, struct store_entry out[NENTRIES],
                 uint8_t payloads[NENTRIES][128], size_t plen[NENTRIES])
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    assert_true(sodium_init() >= 0);
    id->sk = sodium_malloc(STORE_SECRET_LEN);
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
    for (int i = 0; i < NENTRIES; i++) {
        struct store_entry_id dep;
        plen[i] = strlen(entries[i].payload_hex) / 2;
        assert_int_equal(store_unhex(entries[i].payload_hex, payloads[i], plen[i]), 0);
        assert_int_equal(store_payload_check(payloads[i], plen[i]), 0);
        if (entries[i].dep) {
            const struct store_entry *d = &out[entries[i].dep - 1];
            memcpy(dep.author, d->author, STORE_KEY_LEN);
            dep.seq = d->seq;
            memcpy(dep.hash, d->hash, STORE_HASH_LEN);
        }
        struct store_draft draft = {
            entries[i].type, entries[i].timestamp_ms, &dep, entries[i].dep ? 1u : 0u, payloads[i],
            plen[i]
        };
        assert_int_equal(
            store_entry_sign(&draft, (uint64_t)i + 1, i ? out[i - 1].hash : NULL, id->sk, &out[i]),
            0);
    }
}

static char *hex(const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 1);
    store_hex(b, n, s);
    return s;
}

/* The value of "key = value" in the vector file. */
static char *lookup(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && strncmp(p + klen, " = ", 3) == 0) {
            const char *v = p + klen + 3;
            size_t n = strcspn(v, "\n");
            char *out = malloc(n + 1);
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
    }
    fail_msg("vector file has no %s", key);
    return NULL;
}

static void check_hex(const char *text, const char *key, const uint8_t *b, size_t n)
{
    char *want = lookup(text, key);
    char *got = hex(b, n);
    if (strcmp(want, got) != 0)
        fail_msg("%s:\n got  %s\n want %s", key, got, want);
    free(want);
    free(got);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_golden(void **state)
{
    (void)state;
    struct store_identity id;
    struct store_entry e[NENTRIES];
    uint8_t payloads[NENTRIES][128];
    size_t plen[NENTRIES];
    char *text = read_file(KORTNOD_SOURCE_ROOT "/tests/vectors/log-v1.txt");
    char key[64];

    make(&id, e, payloads, plen);
    check_hex(text, "public_key", id.pk, STORE_KEY_LEN);
    for (int i = 0; i < NENTRIES; i++) {
        snprintf(key, sizeof(key), "entry.%d.payload", i + 1);
        check_hex(text, key, payloads[i], plen[i]);
        snprintf(key, sizeof(key), "entry.%d.header", i + 1);
        check_hex(text, key, e[i].signed_header, e[i].header_len);
        snprintf(key, sizeof(key), "entry.%d.signature", i + 1);
        check_hex(text, key, e[i].signed_header + e[i].header_len, STORE_SIG_LEN);
        snprintf(key, sizeof(key), "entry.%d.hash", i + 1);
        check_hex(text, key, e[i].hash, STORE_HASH_LEN);
    }

    /* the vector's bytes, taken from the file, decode, verify and ingest */
    char path[64];
    struct store *s = th_store(path);
    struct store_raw raw[NENTRIES];
    uint8_t hdr[NENTRIES][STORE_MAX_SIGNED];
    for (int i = 0; i < NENTRIES; i++) {
        snprintf(key, sizeof(key), "entry.%d.header", i + 1);
        char *h = lookup(text, key);
        snprintf(key, sizeof(key), "entry.%d.signature", i + 1);
        char *sig = lookup(text, key);
        size_t hl = strlen(h) / 2;
        assert_int_equal(store_unhex(h, hdr[i], hl), 0);
        assert_int_equal(store_unhex(sig, hdr[i] + hl, STORE_SIG_LEN), 0);
        raw[i] = (struct store_raw){ hdr[i], hl + STORE_SIG_LEN, payloads[i], plen[i] };
        free(h);
        free(sig);
    }
    struct store_ingest_result res;
    assert_int_equal(store_ingest(s, raw, NENTRIES, &res, NULL, NULL), 0);
    assert_int_equal(res.accepted, NENTRIES);
    assert_int_equal(store_verify_all(s, STORE_VERIFY_EVERY, NULL, NULL, NULL), 0);
    th_store_close(s, path);
    store_identity_finish(&id);
    free(text);
}

static void write_vectors(void)
{
    struct store_identity id;
    struct store_entry e[NENTRIES];
    uint8_t payloads[NENTRIES][128];
    size_t plen[NENTRIES];
    char *h;

    make(&id, e, payloads, plen);
    printf("# kortnod log format, version 1: golden test vector (checked by tests/unit/"
           "test_vectors.c)\n");
    printf("# seed = the 32 bytes 00 01 02 ... 1f; Ed25519 (libsodium crypto_sign_seed_keypair)"
           "\n");
    printf("public_key = %s\n", h = hex(id.pk, STORE_KEY_LEN));
    free(h);
    for (int i = 0; i < NENTRIES; i++) {
        printf("entry.%d.type = %s\n", i + 1, entries[i].type);
        printf("entry.%d.timestamp_ms = %llu\n", i + 1,
               (unsigned long long)entries[i].timestamp_ms);
        printf("entry.%d.deps = %s\n", i + 1, entries[i].dep ? "previous entry" : "none");
        printf("entry.%d.payload = %s\n", i + 1, h = hex(payloads[i], plen[i]));
        free(h);
        printf("entry.%d.header = %s\n", i + 1, h = hex(e[i].signed_header, e[i].header_len));
        free(h);
        printf("entry.%d.signature = %s\n", i + 1,
               h = hex(e[i].signed_header + e[i].header_len, STORE_SIG_LEN));
        free(h);
        printf("entry.%d.hash = %s\n", i + 1, h = hex(e[i].hash, STORE_HASH_LEN));
        free(h);
    }
    store_identity_finish(&id);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--write") == 0) {
        write_vectors();
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
    };
    return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
