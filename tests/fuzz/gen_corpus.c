/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus - write the fuzz targets' seed inputs: real signed entries, canonical payloads and
 * bundles, made with fixed keys so that every run writes the same bytes (Ed25519 signatures are
 * deterministic). Usage: gen_corpus DIR, which must hold entry/, payload/, bundle/, ingest/,
 * msg/ and lan/; gen_corpus DIR msg (or lan) writes that target's seeds alone.
 * The seeds committed in tests/fuzz/corpus/ come from `gen_corpus tests/fuzz/corpus`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "lan.h"
#include "sync.h"

static const char *outdir;

static void die(const char *what)
{
    fprintf(stderr, "gen_corpus: %s\n", what);
    exit(1);
}

static void put(const char *sub, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        die(path);
}

static int sbuf_write(void *data, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(data, buf, len);
}

/* ---- payloads ---- */

struct value {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static msgpack_packer *value_begin(struct value *v)
{
    msgpack_sbuffer_init(&v->sb);
    msgpack_packer_init(&v->pk, &v->sb, sbuf_write);
    return &v->pk;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Write a payload seed; every one must be accepted (the checker's canonical forms). */
static void value_put(struct value *v, const char *name)
{
    if (store_payload_check((const uint8_t *)v->sb.data, v->sb.size) != 0) {
        fprintf(stderr, "gen_corpus: payload %s refused: %s\n", name,
                kn_strerror(store_payload_check((const uint8_t *)v->sb.data, v->sb.size)));
        exit(1);
    }
    put("payload", name, v->sb.data, v->sb.size);
    msgpack_sbuffer_destroy(&v->sb);
}

static void gen_payloads(void)
{
    static const uint64_t uints[] = { 0,      0x7f,    0x80,          0xff,       0x100,
                                      0xffff, 0x10000, 0xffffffffull, 1ull << 32, UINT64_MAX };
    static const int64_t ints[] = {
        -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN, INT32_MIN - 1LL, INT64_MIN
    };
    static const size_t strlens[] = { 0, 31, 32, 255, 256, 300 };
    struct value v;
    char name[64];
    msgpack_packer *pk;

    pk = value_begin(&v), msgpack_pack_nil(pk), value_put(&v, "nil");
    pk = value_begin(&v), msgpack_pack_true(pk), value_put(&v, "true");
    pk = value_begin(&v), msgpack_pack_false(pk), value_put(&v, "false");
    for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
        snprintf(name, sizeof(name), "uint-%llx", (unsigned long long)uints[i]);
        pk = value_begin(&v), msgpack_pack_uint64(pk, uints[i]), value_put(&v, name);
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        snprintf(name, sizeof(name), "int-%lld", (long long)ints[i]);
        pk = value_begin(&v), msgpack_pack_int64(pk, ints[i]), value_put(&v, name);
    }
    for (size_t i = 0; i < sizeof(strlens) / sizeof(strlens[0]); i++) {
        size_t n = strlens[i];
        char *s = malloc(n + 1);
        memset(s, 'k', n);
        snprintf(name, sizeof(name), "str-%zu", n);
        pk = value_begin(&v), pack_str(pk, s, n), value_put(&v, name);
        snprintf(name, sizeof(name), "bin-%zu", n);
        pk = value_begin(&v), msgpack_pack_bin(pk, n), msgpack_pack_bin_body(pk, s, n);
        value_put(&v, name);
        free(s);
    }
    /* One of each UTF-8 length, the edges of the ranges included. */
    static const char utf8[] = "a\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
                               "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
    pk = value_begin(&v), pack_str(pk, utf8, sizeof(utf8) - 1), value_put(&v, "str-utf8");

    pk = value_begin(&v), msgpack_pack_array(pk, 0), value_put(&v, "array-0");
    pk = value_begin(&v), msgpack_pack_array(pk, 15);
    for (int i = 0; i < 15; i++)
        msgpack_pack_uint64(pk, (uint64_t)i);
    value_put(&v, "array-15");
    pk = value_begin(&v), msgpack_pack_array(pk, 16);
    for (int i = 0; i < 16; i++)
        msgpack_pack_int64(pk, -i - 1);
    value_put(&v, "array-16");
    pk = value_begin(&v), msgpack_pack_map(pk, 0), value_put(&v, "map-0");

    /* A record like the ones the node writes: keys in byte order, shorter prefix first. */
    pk = value_begin(&v), msgpack_pack_map(pk, 5);
    pack_str(pk, "", 0), msgpack_pack_nil(pk);
    pack_str(pk, "a", 1), msgpack_pack_uint64(pk, 1);
    pack_str(pk, "ab", 2), msgpack_pack_array(pk, 2), msgpack_pack_true(pk), msgpack_pack_false(pk);
    pack_str(pk, "b", 1), msgpack_pack_map(pk, 1), pack_str(pk, "x", 1), msgpack_pack_int64(pk, -5);
    pack_str(pk, "\xc3\xa9t\xc3\xa9", 5);
    msgpack_pack_bin(pk, 3), msgpack_pack_bin_body(pk, "abc", 3);
    value_put(&v, "map-record");
    pk = value_begin(&v), msgpack_pack_map(pk, 16);
    for (int i = 0; i < 16; i++) {
        snprintf(name, sizeof(name), "k%02d", i);
        pack_str(pk, name, 3), msgpack_pack_uint64(pk, (uint64_t)i * 1000);
    }
    value_put(&v, "map-16");

    /* Nesting at the limit: 32 containers, then 33 (STORE_MAX_DEPTH counts from 0). */
    for (int depth = 32; depth <= 33; depth++) {
        pk = value_begin(&v);
        for (int i = 0; i < depth - 1; i++)
            msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 0);
        snprintf(name, sizeof(name), "nest-%d", depth);
        value_put(&v, name);
    }
    pk = value_begin(&v);
    for (int i = 0; i < 31; i++)
        msgpack_pack_map(pk, 1), pack_str(pk, "n", 1);
    msgpack_pack_uint64(pk, 7);
    value_put(&v, "nest-maps-31");
}

/* ---- entries ---- */

struct key {
    uint8_t pk[STORE_KEY_LEN];
    uint8_t sk[STORE_SECRET_LEN];
};

static void key_make(struct key *k, uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof(seed));
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* A feed in memory: entries 1..n with payloads {"i": seq, "t": text}. */
struct feed {
    struct key key;
    size_t n;
    struct store_entry *e;
    msgpack_sbuffer *payload;
};

static void payload_make(msgpack_sbuffer *sb, uint64_t i, const char *text)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, sbuf_write);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "i", 1);
    msgpack_pack_uint64(&pk, i);
    pack_str(&pk, "t", 1);
    pack_str(&pk, text, strlen(text));
}

static void sign(const struct key *k, const char *type, uint64_t ts,
                 const struct store_entry_id *deps, size_t ndeps, const msgpack_sbuffer *payload,
                 uint64_t seq, const uint8_t *prev, struct store_entry *out)
{
    struct store_draft d = { type, ts, deps, ndeps, (const uint8_t *)payload->data, payload->size };
    int r = store_entry_sign(&d, seq, prev, k->sk, out);
    if (r != 0)
        die(kn_strerror(r));
}

static void feed_make(struct feed *f, uint8_t seed_byte, size_t n, const char *text)
{
    key_make(&f->key, seed_byte);
    f->n = n;
    f->e = calloc(n, sizeof(*f->e));
    f->payload = calloc(n, sizeof(*f->payload));
    if (!f->e || !f->payload)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        payload_make(&f->payload[i], i + 1, text);
        sign(&f->key, "test.note", 1700000000000ull + 1000 * i, NULL, 0, &f->payload[i], i + 1,
             i ? f->e[i - 1].hash : NULL, &f->e[i]);
    }
}

static void feed_free(struct feed *f)
{
    for (size_t i = 0; i < f->n; i++)
        msgpack_sbuffer_destroy(&f->payload[i]);
    free(f->payload);
    free(f->e);
}

static void gen_entries(const struct feed *a, const struct feed *b)
{
    struct store_entry *e = malloc(sizeof(*e));
    struct store_entry_id deps[STORE_MAX_DEPS];
    msgpack_sbuffer big;
    char type[STORE_MAX_TYPE + 1];
    uint8_t buf[STORE_MAX_SIGNED + 1];

    if (!e)
        die("out of memory");
    put("entry", "seq1", a->e[0].signed_header, a->e[0].signed_len);
    put("entry", "seq2", a->e[1].signed_header, a->e[1].signed_len);
    put("entry", "seq3-other-author", b->e[2].signed_header, b->e[2].signed_len);

    for (size_t i = 0; i < STORE_MAX_DEPS; i++) {
        memcpy(deps[i].author, i & 1 ? b->key.pk : a->key.pk, STORE_KEY_LEN);
        deps[i].seq = (i & 1 ? b : a)->e[i % 3].seq;
        memcpy(deps[i].hash, (i & 1 ? b : a)->e[i % 3].hash, STORE_HASH_LEN);
    }
    deps[STORE_MAX_DEPS - 1].seq = UINT64_MAX;
    sign(&a->key, "test.deps", 1700000000000ull, deps, STORE_MAX_DEPS, &a->payload[0], 4,
         a->e[2].hash, e);
    put("entry", "deps-16", e->signed_header, e->signed_len);
    sign(&a->key, "test.deps", 1700000000000ull, deps, 1, &a->payload[0], 4, a->e[2].hash, e);
    put("entry", "deps-1", e->signed_header, e->signed_len);

    memset(type, 'z', STORE_MAX_TYPE);
    type[STORE_MAX_TYPE] = '\0';
    memcpy(type, "a-0._", 5);
    sign(&a->key, type, UINT64_MAX, NULL, 0, &a->payload[0], INT64_MAX, a->e[0].hash, e);
    put("entry", "type-64-seq-max", e->signed_header, e->signed_len);

    /* A header that names the largest payload. */
    msgpack_sbuffer_init(&big);
    {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &big, sbuf_write);
        msgpack_pack_bin(&pk, STORE_MAX_PAYLOAD - 5);
        char *zeros = calloc(1, STORE_MAX_PAYLOAD);
        msgpack_pack_bin_body(&pk, zeros, STORE_MAX_PAYLOAD - 5);
        free(zeros);
    }
    sign(&a->key, "x", 0, NULL, 0, &big, 1, NULL, e);
    put("entry", "payload-max", e->signed_header, e->signed_len);
    msgpack_sbuffer_destroy(&big);

    /* A few near misses, so that the error paths have seeds too. */
    put("entry", "truncated", a->e[1].signed_header, a->e[1].signed_len - 1);
    memcpy(buf, a->e[1].signed_header, a->e[1].signed_len);
    buf[a->e[1].signed_len] = 0;
    put("entry", "trailing", buf, a->e[1].signed_len + 1);
    buf[a->e[1].signed_len - 1] ^= 1;
    put("entry", "bad-signature", buf, a->e[1].signed_len);
    free(e);
}

/* ---- bundles ---- */

static void bundle_put(struct sync_buf *b, const struct feed *f, size_t i, bool with_payload)
{
    struct store_raw r = { f->e[i].signed_header, f->e[i].signed_len,
                           with_payload ? (const uint8_t *)f->payload[i].data : NULL,
                           with_payload ? f->payload[i].size : 0 };
    if (sync_bundle_put_entry(b, &r) != 0)
        die("bundle record");
}

/* Write b with a first byte the targets read as a parameter (feed size, batch size). */
static void put_prefixed(const char *sub, const char *name, uint8_t first, const struct sync_buf *b)
{
    uint8_t *p = malloc(b->len + 1);
    if (!p)
        die("out of memory");
    p[0] = first;
    memcpy(p + 1, b->data, b->len);
    put(sub, name, p, b->len + 1);
    free(p);
}

static void gen_bundles(const struct feed *a, const struct feed *b, const struct feed *c)
{
    struct sync_buf buf;
    size_t n = 0;
    char name[64];

    sync_buf_init(&buf);
    sync_bundle_put_header(&buf);
    sync_bundle_put_trailer(&buf, 0);
    put_prefixed("bundle", "empty", 0xff, &buf);
    put_prefixed("ingest", "empty", 0, &buf);

    sync_buf_finish(&buf);
    sync_bundle_put_header(&buf);
    for (size_t i = 0; i < a->n; i++, n++)
        bundle_put(&buf, a, i, true);
    for (size_t i = 0; i < 3; i++, n++)
        bundle_put(&buf, b, i, i != 1);
    sync_bundle_put_trailer(&buf, n);
    put_prefixed("bundle", "two-feeds-whole", 0xff, &buf);
    put_prefixed("bundle", "two-feeds-chunk-1", 0, &buf);
    put_prefixed("bundle", "two-feeds-chunk-7", 6, &buf);
    put_prefixed("bundle", "two-feeds-chunk-100", 99, &buf);
    buf.len -= 2;
    put_prefixed("bundle", "cut-off", 0xff, &buf);

    /* Ingest: one batch, batches of 1, 2 and 3, over feeds in an order that makes it work. */
    sync_buf_finish(&buf);
    sync_bundle_put_header(&buf);
    n = 0;
    for (size_t i = a->n; i-- > 0; n++) /* newest first: the store sorts them */
        bundle_put(&buf, a, i, true);
    for (size_t i = 0; i < b->n; i++, n++)
        bundle_put(&buf, b, i, true);
    bundle_put(&buf, a, 2, true), n++; /* a duplicate */
    sync_bundle_put_trailer(&buf, n);
    for (int batch = 0; batch <= 3; batch++) {
        snprintf(name, sizeof(name), "two-feeds-batch-%d", batch);
        put_prefixed("ingest", name, (uint8_t)batch, &buf);
    }

    /* A fork: c's seq 3 signed twice with different payloads, then more of c. */
    sync_buf_finish(&buf);
    sync_bundle_put_header(&buf);
    n = 0;
    for (size_t i = 0; i < c->n; i++, n++)
        bundle_put(&buf, c, i, true);
    {
        struct store_entry *e = malloc(sizeof(*e));
        msgpack_sbuffer p;
        payload_make(&p, 3, "the other story");
        sign(&c->key, "test.note", 1, NULL, 0, &p, 3, c->e[1].hash, e);
        struct store_raw r = { e->signed_header, e->signed_len, (const uint8_t *)p.data, p.size };
        sync_bundle_put_entry(&buf, &r), n++;
        msgpack_sbuffer_destroy(&p);
        free(e);
    }
    sync_bundle_put_trailer(&buf, n);
    put_prefixed("ingest", "fork-batch-0", 0, &buf);
    put_prefixed("ingest", "fork-batch-2", 2, &buf);

    /* Refusals: a gap, a payload that does not match, a missing payload, a bad signature. */
    sync_buf_finish(&buf);
    sync_bundle_put_header(&buf);
    n = 0;
    bundle_put(&buf, a, 0, true), n++;
    bundle_put(&buf, a, 2, true), n++; /* seq 2 missing */
    {
        struct store_raw r = { b->e[0].signed_header, b->e[0].signed_len,
                               (const uint8_t *)a->payload[0].data, a->payload[0].size };
        sync_bundle_put_entry(&buf, &r), n++;
    }
    bundle_put(&buf, c, 0, false), n++;
    {
        uint8_t h[STORE_MAX_SIGNED];
        memcpy(h, c->e[1].signed_header, c->e[1].signed_len);
        h[c->e[1].signed_len - 3] ^= 0x40;
        struct store_raw r = { h, c->e[1].signed_len, (const uint8_t *)c->payload[1].data,
                               c->payload[1].size };
        sync_bundle_put_entry(&buf, &r), n++;
    }
    bundle_put(&buf, c, 2, true), n++;
    sync_bundle_put_trailer(&buf, n);
    put_prefixed("ingest", "refusals", 0, &buf);
    put_prefixed("bundle", "refusals", 3, &buf);
    sync_buf_finish(&buf);
}

/* ---- replication messages (fuzz_msg): a split byte, then messages ---- */

static void gen_msgs(const struct feed *a)
{
    struct sync_buf buf;
    struct sync_clock_item clock[2];
    struct store_raw raw[3];

    memset(clock, 0, sizeof(clock));
    memcpy(clock[0].tip, a->e[a->n - 1].hash, STORE_HASH_LEN);
    clock[0].has_tip = true;

    memcpy(clock[0].author, a->e[0].author, STORE_KEY_LEN);
    clock[0].seq = a->n;
    memset(clock[1].author, 0x5a, STORE_KEY_LEN);
    clock[1].seq = 300;
    for (size_t i = 0; i < 3; i++)
        raw[i] = (struct store_raw){ a->e[i].signed_header, a->e[i].signed_len,
                                     (const uint8_t *)a->payload[i].data, a->payload[i].size };
    raw[2].payload = NULL; /* a purged payload travels as nil */
    raw[2].payload_len = 0;

    sync_buf_init(&buf);
    sync_msg_put_clock(&buf, clock, 2);
    put_prefixed("msg", "clock", 0xff, &buf);
    buf.len = 0;
    if (sync_msg_put_entries(&buf, raw, 3) != 0)
        die("entries message");
    put_prefixed("msg", "entries", 7, &buf);
    buf.len = 0;
    struct store_raw proof = { a->e[1].signed_header, a->e[1].signed_len, a->e[2].signed_header,
                               a->e[2].signed_len };
    if (sync_msg_put_forks(&buf, &proof, 1) != 0)
        die("forks message");
    put_prefixed("msg", "forks", 0x40, &buf);
    buf.len = 0;
    sync_msg_put_clock(&buf, clock, 1);
    sync_msg_put_synced(&buf);
    if (sync_msg_put_entries(&buf, raw, 1) != 0)
        die("entries message");
    put_prefixed("msg", "session", 3, &buf);
    sync_buf_finish(&buf);
}

/* ---- LAN announcements (fuzz_lan): a mode byte, then a packet (even) or a plaintext (odd) ---- */

static void gen_lan(void)
{
    static const uint8_t netkey[32] = { 7, 7, 7 }, other[32] = { 8 }; /* fuzz_lan.c's, another */
    static const uint16_t ports[] = { 7117, 1, 65535 };
    uint8_t key[32], other_key[32], nonce[LAN_NONCE_LEN];
    uint8_t pkt[1 + LAN_PACKET_LEN], plain[1 + LAN_PLAIN_LEN + LAN_NONCE_LEN];
    struct lan_announce a;
    char name[32];

    lan_key(netkey, key);
    lan_key(other, other_key);
    for (int role = 0; role <= LAN_ROLE_MAX; role++) {
        memset(a.node, 0x11 * (role + 1), sizeof(a.node));
        a.role = role;
        a.port = ports[role];
        a.time_ms = 1700000000000ull + (uint64_t)role;
        memset(nonce, role + 1, sizeof(nonce));
        pkt[0] = 0;
        lan_encode_nonce(key, &a, nonce, pkt + 1);
        snprintf(name, sizeof(name), "packet-role-%d", role);
        put("lan", name, pkt, sizeof(pkt));
        /* The same announcement as a plaintext to be sealed by the target, a bit flipped after. */
        plain[0] = 3;
        plain[1] = 1;
        plain[2] = (uint8_t)role;
        plain[3] = (uint8_t)(a.port >> 8);
        plain[4] = (uint8_t)a.port;
        memcpy(plain + 5, a.node, 32);
        for (int i = 0; i < 8; i++)
            plain[37 + i] = (uint8_t)(a.time_ms >> (56 - 8 * i));
        memcpy(plain + 1 + LAN_PLAIN_LEN, nonce, sizeof(nonce));
        snprintf(name, sizeof(name), "plain-role-%d", role);
        put("lan", name, plain, sizeof(plain));
    }
    /* Plaintexts the decoder refuses behind the MAC; the last byte picks where to cut. */
    plain[0] = 1;
    plain[1] = 2;
    put("lan", "plain-version-2", plain, sizeof(plain));
    plain[1] = 1;
    plain[2] = 3;
    put("lan", "plain-role-3", plain, sizeof(plain));
    plain[2] = 0;
    plain[3] = plain[4] = 0;
    put("lan", "plain-port-0", plain, sizeof(plain));
    /* Packets refused in front of it: another network's, and a cut one. */
    lan_encode_nonce(other_key, &a, nonce, pkt + 1);
    put("lan", "packet-other-network", pkt, sizeof(pkt));
    put("lan", "packet-cut", pkt, sizeof(pkt) - 1);
}

int main(int argc, char **argv)
{
    struct feed a, b, c;

    if (argc != 2 && !(argc == 3 && (!strcmp(argv[2], "msg") || !strcmp(argv[2], "lan")))) {
        fprintf(stderr, "usage: gen_corpus DIR [msg|lan]\n");
        return 2;
    }
    outdir = argv[1];
    if (sodium_init() < 0)
        die("sodium_init");
    if (argc == 3 && !strcmp(argv[2], "lan")) { /* the LAN announcement seeds alone */
        gen_lan();
        return 0;
    }
    feed_make(&a, 0x11, 6, "alpha");
    feed_make(&b, 0x22, 4, "beta: a longer text, so that a record crosses a chunk boundary");
    feed_make(&c, 0x33, 5, "gamma");
    if (argc == 3) { /* the message seeds alone */
        gen_msgs(&a);
        feed_free(&a);
        feed_free(&b);
        feed_free(&c);
        return 0;
    }
    gen_payloads();
    gen_entries(&a, &b);
    gen_bundles(&a, &b, &c);
    gen_msgs(&a);
    gen_lan();
    feed_free(&a);
    feed_free(&b);
    feed_free(&c);
    return 0;
}
