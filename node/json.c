/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "node.h"

struct pack_ctx {
    msgpack_packer pk;
    msgpack_sbuffer sb;
    char *err;
    size_t errsize;
};

/* An object's key with its length: JSON keys may hold "\u0000", which a C string would cut. */
struct key {
    const char *s;
    size_t n;
};

/* Byte order, a prefix first: the order store_payload_check() wants. */
static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int pack_value(struct pack_ctx *c, json_t *v, int depth)
{
    if ((json_is_array(v) || json_is_object(v)) && depth >= STORE_MAX_DEPTH) {
        snprintf(c->err, c->errsize, "nested deeper than %d levels", STORE_MAX_DEPTH);
        return KN_EJSON;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        return msgpack_pack_nil(&c->pk);
    case JSON_TRUE:
        return msgpack_pack_true(&c->pk);
    case JSON_FALSE:
        return msgpack_pack_false(&c->pk);
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        return i >= 0 ? msgpack_pack_uint64(&c->pk, (uint64_t)i) : msgpack_pack_int64(&c->pk, i);
    }
    case JSON_REAL:
        snprintf(c->err, c->errsize,
                 "the number %g has a fraction or exponent; the log holds integers only",
                 json_real_value(v));
        return KN_EJSON;
    case JSON_STRING:
        msgpack_pack_str(&c->pk, json_string_length(v));
        return msgpack_pack_str_body(&c->pk, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        msgpack_pack_array(&c->pk, json_array_size(v));
        json_array_foreach (v, i, x) {
            int r = pack_value(c, x, depth + 1);
            if (r < 0)
                return r;
        }
        return 0;
    }
    case JSON_OBJECT: {
        /* Canonical form: keys in byte order. */
        size_t n = json_object_size(v), i = 0, klen;
        struct key *keys = kn_xmalloc((n ? n : 1) * sizeof(*keys));
        const char *k;
        json_t *x;
        int r = 0;
        json_object_keylen_foreach(v, k, klen, x)
        {
            keys[i++] = (struct key){ k, klen };
        }
        qsort(keys, n, sizeof(*keys), key_cmp);
        msgpack_pack_map(&c->pk, n);
        for (i = 0; i < n && r == 0; i++) {
            msgpack_pack_str_with_body(&c->pk, keys[i].s, keys[i].n);
            r = pack_value(c, json_object_getn(v, keys[i].s, keys[i].n), depth + 1);
        }
        free(keys);
        return r;
    }
    }
    return KN_EJSON;
}

int node_payload_from_json(const char *json, uint8_t **out, size_t *len, char *err, size_t errsize)
{
    struct pack_ctx c = { .err = err, .errsize = errsize };
    json_error_t jerr;
    json_t *v;
    int r;

    *out = NULL;
    *len = 0;
    v = json_loads(json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        snprintf(err, errsize, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return KN_EJSON;
    }
    msgpack_sbuffer_init(&c.sb);
    msgpack_packer_init(&c.pk, &c.sb, msgpack_sbuffer_write);
    r = pack_value(&c, v, 0);
    json_decref(v);
    if (r == 0 && c.sb.size > STORE_MAX_PAYLOAD) {
        snprintf(err, errsize, "the body is %zu bytes as msgpack; at most %d are allowed",
                 c.sb.size, STORE_MAX_PAYLOAD);
        r = KN_ETOOBIG;
    }
    if (r == 0 && (r = store_payload_check((const uint8_t *)c.sb.data, c.sb.size)) < 0)
        snprintf(err, errsize, "%s", kn_strerror(r));
    if (r == 0) {
        *out = (uint8_t *)c.sb.data;
        *len = c.sb.size;
        c.sb.data = NULL;
    }
    msgpack_sbuffer_destroy(&c.sb);
    return r;
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char *hex = kn_xmalloc(2 * n + 1);
    store_hex(b, n, hex);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

static json_t *object_to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            char buf[24];
            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->via.u64);
            return json_string(buf); /* JSON integers here are 64-bit signed */
        }
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_STR:
        /* An empty string's pointer may be NULL, which json_stringn() refuses. */
        return json_stringn(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return json_pack("{s:o}", "$bin",
                         hex_json((const uint8_t *)o->via.bin.ptr, o->via.bin.size));
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++)
            json_array_append_new(a, object_to_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            /* Keys are strings (store_payload_check): "" and keys holding NUL included. */
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            json_object_setn_new(m, kv->key.via.str.size ? kv->key.via.str.ptr : "",
                                 kv->key.via.str.size, object_to_json(&kv->val));
        }
        return m;
    }
    default:
        return json_null();
    }
}

json_t *node_payload_to_json(const uint8_t *buf, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;
    json_t *v = NULL;

    /* The strict check first bounds every count by the bytes present; only then is msgpack-c's
     * allocating unpacker safe on bytes from another node. */
    if (store_payload_check(buf, len) < 0)
        return NULL;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)buf, len, &off) == MSGPACK_UNPACK_SUCCESS)
        v = object_to_json(&u.data);
    msgpack_unpacked_destroy(&u);
    return v;
}

json_t *node_entry_to_json(const struct store_entry *e, const uint8_t *payload, size_t len)
{
    char ts[32];
    json_t *deps = json_array();
    json_t *body = payload ? node_payload_to_json(payload, len) : NULL;

    for (size_t i = 0; i < e->ndeps; i++)
        json_array_append_new(deps, json_pack("{s:o,s:I,s:o}", "author",
                                              hex_json(e->deps[i].author, STORE_KEY_LEN), "seq",
                                              (json_int_t)e->deps[i].seq, "hash",
                                              hex_json(e->deps[i].hash, STORE_HASH_LEN)));
    node_format_time(e->timestamp_ms, ts);
    return json_pack("{s:o,s:I,s:o,s:o,s:I,s:s,s:s,s:o,s:I,s:o,s:o}", "author",
                     hex_json(e->author, STORE_KEY_LEN), "seq", (json_int_t)e->seq, "hash",
                     hex_json(e->hash, STORE_HASH_LEN), "prev_hash",
                     e->has_prev ? hex_json(e->prev_hash, STORE_HASH_LEN) : json_null(),
                     "timestamp_ms", (json_int_t)e->timestamp_ms, "time", ts, "type", e->type,
                     "deps", deps, "payload_len", (json_int_t)e->payload_len, "payload_hash",
                     hex_json(e->payload_hash, STORE_HASH_LEN), "payload",
                     body ? body : json_null());
}

static int clock_add(void *ud, const struct store_feed *f)
{
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(f->author, STORE_KEY_LEN, hex);
    json_object_set_new(ud, hex, json_integer((json_int_t)f->seq));
    return 0;
}

int node_clock_json(struct node *n, json_t **out)
{
    json_t *clock = json_object();
    int r = store_clock(n->store, clock_add, clock);
    if (r < 0) {
        json_decref(clock);
        clock = NULL;
    }
    *out = clock;
    return r;
}

int node_clock_parse(const char *text, json_t **out, char *err, size_t errsize)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    json_t *clock = NULL;
    const char *k;
    json_t *x;
    uint8_t key[STORE_KEY_LEN];
    char hex[STORE_ID_HEX_LEN + 1];
    int r = KN_EJSON;

    *out = NULL;
    if (!v) {
        snprintf(err, errsize, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        goto out;
    }
    if (!json_is_object(v)) {
        snprintf(err, errsize, "a clock is a JSON object {\"<node id>\": seq, ...}");
        goto out;
    }
    /* Node ids are looked up in their lower-case form, whatever case the file used. */
    clock = json_object();
    json_object_foreach (v, k, x) {
        if (store_unhex(k, key, STORE_KEY_LEN) < 0 || !json_is_integer(x) ||
            json_integer_value(x) < 0) {
            snprintf(err, errsize,
                     "bad clock item \"%.80s\": want a 64-hex-digit node id and a "
                     "non-negative integer seq",
                     k);
            goto out;
        }
        store_hex(key, STORE_KEY_LEN, hex);
        if (json_object_get(clock, hex)) {
            snprintf(err, errsize, "node id %.80s appears twice", hex);
            goto out;
        }
        json_object_set(clock, hex, x);
    }
    *out = clock;
    clock = NULL;
    r = 0;
out:
    json_decref(v);
    json_decref(clock);
    return r;
}
