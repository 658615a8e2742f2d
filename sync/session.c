/* SPDX-License-Identifier: MIT */
/* Replication messages: writing them, and reading them back from a stream of bytes. */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "sync.h"

static int buf_write(void *data, const char *buf, size_t len)
{
    sync_buf_append(data, buf, len);
    return 0;
}

static void put_name(msgpack_packer *pk, size_t n, const char *name)
{
    msgpack_pack_array(pk, n);
    msgpack_pack_str_with_body(pk, name, strlen(name));
}

void sync_msg_put_clock(struct sync_buf *out, const struct sync_clock_item *items, size_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    put_name(&pk, 2, "clock");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_array(&pk, items[i].has_tip ? 3 : 2);
        msgpack_pack_bin_with_body(&pk, items[i].author, STORE_KEY_LEN);
        msgpack_pack_uint64(&pk, items[i].seq);
        if (items[i].has_tip)
            msgpack_pack_bin_with_body(&pk, items[i].tip, STORE_HASH_LEN);
    }
}

/* The writing side of read_pairs: "entries" (payload may be NULL: nil) or "forks". */
static int put_pairs(struct sync_buf *out, const char *name, const struct store_raw *v, size_t n,
                     size_t second_max, bool nil_ok)
{
    msgpack_packer pk;
    if (n > SYNC_MAX_BATCH)
        return KN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (v[i].signed_len > STORE_MAX_SIGNED || (!v[i].payload && !nil_ok) ||
            (v[i].payload && v[i].payload_len > second_max))
            return KN_EINVAL;
    msgpack_packer_init(&pk, out, buf_write);
    put_name(&pk, 2, name);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_array(&pk, 2);
        msgpack_pack_bin_with_body(&pk, v[i].signed_header, v[i].signed_len);
        if (v[i].payload)
            msgpack_pack_bin_with_body(&pk, v[i].payload, v[i].payload_len);
        else
            msgpack_pack_nil(&pk);
    }
    return 0;
}

int sync_msg_put_entries(struct sync_buf *out, const struct store_raw *entries, size_t n)
{
    return put_pairs(out, "entries", entries, n, STORE_MAX_PAYLOAD, true);
}

int sync_msg_put_forks(struct sync_buf *out, const struct store_raw *proofs, size_t n)
{
    return put_pairs(out, "forks", proofs, n, STORE_MAX_SIGNED, false);
}

void sync_msg_put_synced(struct sync_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    put_name(&pk, 1, "synced");
}

void sync_msg_reader_init(struct sync_msg_reader *r)
{
    memset(r, 0, sizeof(*r));
    sync_buf_init(&r->in);
}

void sync_msg_reader_finish(struct sync_msg_reader *r)
{
    sync_buf_finish(&r->in);
    free(r->clock);
    free(r->entries);
    memset(r, 0, sizeof(*r));
}

void sync_msg_reader_feed(struct sync_msg_reader *r, const uint8_t *data, size_t len)
{
    if (r->failed)
        return;
    sync_buf_consume(&r->in, r->consumed);
    r->consumed = 0;
    sync_buf_append(&r->in, data, len);
}

static int fail(struct sync_msg_reader *r, int err)
{
    /* Cut off is not an error while the message could still be complete within the bound. */
    if (err == KN_ETRUNC && r->in.len - r->consumed < SYNC_MAX_MESSAGE)
        return -EAGAIN;
    r->failed = true;
    return err == KN_ETRUNC ? KN_ETOOBIG : err;
}

static int read_clock(struct sync_msg_reader *r, struct store_mp *m, struct sync_msg *out)
{
    uint32_t n, two, len;
    const uint8_t *b;
    int err;

    if ((err = store_mp_array(m, &n)) < 0)
        return err;
    if (n > SYNC_MAX_FEEDS)
        return KN_ETOOBIG;
    if (n > r->clock_cap) {
        r->clock = kn_xrealloc(r->clock, n * sizeof(*r->clock));
        r->clock_cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        if ((err = store_mp_array(m, &two)) < 0 || (err = store_mp_bin(m, &b, &len)) < 0)
            return err;
        if ((two != 2 && two != 3) || len != STORE_KEY_LEN)
            return KN_EFIELD;
        memset(&r->clock[i], 0, sizeof(r->clock[i]));
        memcpy(r->clock[i].author, b, STORE_KEY_LEN);
        if ((err = store_mp_uint(m, &r->clock[i].seq)) < 0)
            return err;
        /* [author, seq, tip hash]; nodes before the hash was added send [author, seq] */
        if (two == 3) {
            const uint8_t *tip;
            if ((err = store_mp_bin(m, &tip, &len)) < 0)
                return err;
            if (len != STORE_HASH_LEN)
                return KN_EFIELD;
            memcpy(r->clock[i].tip, tip, STORE_HASH_LEN);
            r->clock[i].has_tip = true;
        }
        /* One order: by author, each once. */
        if (i > 0 && memcmp(r->clock[i - 1].author, b, STORE_KEY_LEN) >= 0)
            return KN_EKEYORDER;
    }
    out->type = SYNC_MSG_CLOCK;
    out->count = n;
    out->clock = r->clock;
    return 0;
}

/*
 * A list of pairs of bin: "entries" (a signed header, and a payload or nil) or "forks" (two
 * signed headers, held and other, kept in signed_header and payload).
 */
static int read_pairs(struct sync_msg_reader *r, struct store_mp *m, enum sync_msg_type type,
                      struct sync_msg *out)
{
    bool forks = type == SYNC_MSG_FORKS;
    size_t second_max = forks ? STORE_MAX_SIGNED : STORE_MAX_PAYLOAD;
    uint32_t n, two, len;
    const uint8_t *b;
    int err;

    if ((err = store_mp_array(m, &n)) < 0)
        return err;
    if (n > SYNC_MAX_BATCH)
        return KN_ETOOBIG;
    if (!r->entries)
        r->entries = kn_xmalloc(SYNC_MAX_BATCH * sizeof(*r->entries));
    for (uint32_t i = 0; i < n; i++) {
        struct store_raw *e = &r->entries[i];
        if ((err = store_mp_array(m, &two)) < 0)
            return err;
        if (two != 2)
            return KN_EFIELD;
        if ((err = store_mp_bin(m, &b, &len)) < 0)
            return err;
        if (len > STORE_MAX_SIGNED)
            return KN_ETOOBIG;
        e->signed_header = b;
        e->signed_len = len;
        if (!forks && (err = store_mp_nil(m)) != 0) {
            if (err < 0)
                return err;
            e->payload = NULL;
            e->payload_len = 0;
            continue;
        }
        if ((err = store_mp_bin(m, &b, &len)) < 0)
            return err;
        if (len > second_max)
            return KN_ETOOBIG;
        e->payload = b;
        e->payload_len = len;
    }
    out->type = type;
    out->count = n;
    out->entries = r->entries;
    return 0;
}

int sync_msg_next(struct sync_msg_reader *r, struct sync_msg *out)
{
    const uint8_t *start = r->in.data ? r->in.data + r->consumed : (const uint8_t *)"";
    struct store_mp m = { start, start + (r->in.len - r->consumed) };
    const uint8_t *name;
    uint32_t n, len;
    int err;

    if (r->failed)
        return KN_EPROTO;
    if (m.p == m.end)
        return -EAGAIN;
    memset(out, 0, sizeof(*out));
    if ((err = store_mp_array(&m, &n)) < 0 || (err = store_mp_str(&m, &name, &len)) < 0)
        return fail(r, err);
    if (len == 5 && !memcmp(name, "clock", 5) && n == 2)
        err = read_clock(r, &m, out);
    else if (len == 7 && !memcmp(name, "entries", 7) && n == 2)
        err = read_pairs(r, &m, SYNC_MSG_ENTRIES, out);
    else if (len == 6 && !memcmp(name, "synced", 6) && n == 1)
        out->type = SYNC_MSG_SYNCED;
    else if (len == 5 && !memcmp(name, "forks", 5) && n == 2)
        err = read_pairs(r, &m, SYNC_MSG_FORKS, out);
    else
        err = KN_EPROTO;
    if (err < 0)
        return fail(r, err);
    if ((size_t)(m.p - start) > SYNC_MAX_MESSAGE)
        return fail(r, KN_ETOOBIG);
    r->consumed += (size_t)(m.p - start);
    return 1;
}
