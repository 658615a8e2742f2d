/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "sync.h"

void sync_buf_init(struct sync_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void sync_buf_finish(struct sync_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void sync_buf_append(struct sync_buf *b, const void *data, size_t len)
{
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < len)
            cap *= 2;
        b->data = kn_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
}

void sync_buf_consume(struct sync_buf *b, size_t n)
{
    if (n == 0)
        return;
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static int buf_write(void *data, const char *buf, size_t len)
{
    sync_buf_append(data, buf, len);
    return 0;
}

void sync_bundle_put_header(struct sync_buf *b)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, SYNC_BUNDLE_MAGIC, strlen(SYNC_BUNDLE_MAGIC));
    msgpack_pack_uint64(&pk, SYNC_BUNDLE_VERSION);
}

int sync_bundle_put_entry(struct sync_buf *b, const struct store_raw *e)
{
    msgpack_packer pk;
    if (e->signed_len > STORE_MAX_SIGNED || (e->payload && e->payload_len > STORE_MAX_PAYLOAD))
        return KN_EINVAL;
    msgpack_packer_init(&pk, b, buf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_bin_with_body(&pk, e->signed_header, e->signed_len);
    if (e->payload)
        msgpack_pack_bin_with_body(&pk, e->payload, e->payload_len);
    else
        msgpack_pack_nil(&pk);
    return 0;
}

void sync_bundle_put_trailer(struct sync_buf *b, uint64_t count)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "end", 3);
    msgpack_pack_uint64(&pk, count);
}

void sync_bundle_reader_init(struct sync_bundle_reader *r)
{
    memset(r, 0, sizeof(*r));
    sync_buf_init(&r->in);
    r->state = SYNC_BUNDLE_HEADER;
}

void sync_bundle_reader_finish(struct sync_bundle_reader *r)
{
    sync_buf_finish(&r->in);
}

void sync_bundle_reader_feed(struct sync_bundle_reader *r, const uint8_t *data, size_t len)
{
    if (r->state == SYNC_BUNDLE_FAILED)
        return; /* nothing more will be read: keep nothing */
    sync_buf_consume(&r->in, r->consumed);
    r->consumed = 0;
    sync_buf_append(&r->in, data, len);
}

/*
 * A truncation error from the strict reader only means "wait for more" while the bytes seen so
 * far could still be the start of a record no larger than any record can be.
 */
static int incomplete(const struct sync_bundle_reader *r, int err)
{
    if (err == KN_ETRUNC && r->in.len - r->consumed < SYNC_MAX_RECORD)
        return -EAGAIN;
    return err;
}

static int fail(struct sync_bundle_reader *r, int err)
{
    if (err != -EAGAIN)
        r->state = SYNC_BUNDLE_FAILED;
    return err;
}

static int read_header(struct sync_bundle_reader *r, struct store_mp *m)
{
    const uint8_t *s;
    uint32_t n, len;
    uint64_t version;
    int err;

    if ((err = store_mp_array(m, &n)) < 0)
        return err == KN_ETRUNC ? err : KN_EFORMAT;
    if (n != 2)
        return KN_EFORMAT;
    if ((err = store_mp_str(m, &s, &len)) < 0)
        return err == KN_ETRUNC ? err : KN_EFORMAT;
    if (len != strlen(SYNC_BUNDLE_MAGIC) || memcmp(s, SYNC_BUNDLE_MAGIC, len) != 0)
        return KN_EFORMAT;
    if ((err = store_mp_uint(m, &version)) < 0)
        return err;
    return version == SYNC_BUNDLE_VERSION ? 0 : KN_EFORMAT;
}

int sync_bundle_reader_next(struct sync_bundle_reader *r, struct store_raw *out)
{
    const uint8_t *start = r->in.data ? r->in.data + r->consumed : (const uint8_t *)"";
    struct store_mp m = { start, start + (r->in.len - r->consumed) };
    const uint8_t *bytes;
    uint32_t n, len;
    uint64_t count;
    int err;

    switch (r->state) {
    case SYNC_BUNDLE_FAILED:
        return KN_EPROTO;
    case SYNC_BUNDLE_END:
        return m.p == m.end ? 0 : fail(r, KN_ETRAIL);
    case SYNC_BUNDLE_HEADER:
        if ((err = read_header(r, &m)) < 0)
            return fail(r, incomplete(r, err));
        r->state = SYNC_BUNDLE_RECORDS;
        r->offset += (uint64_t)(m.p - start);
        r->consumed += (size_t)(m.p - start);
        start = m.p;
        break;
    case SYNC_BUNDLE_RECORDS:
        break;
    }
    if ((err = store_mp_array(&m, &n)) < 0)
        return fail(r, incomplete(r, err));
    if (n != 2)
        return fail(r, KN_EFORMAT);
    if (m.p < m.end && (m.p[0] & 0xe0) == 0xa0) {
        /* A string first: the trailer. */
        if ((err = store_mp_str(&m, &bytes, &len)) < 0 || (err = store_mp_uint(&m, &count)) < 0)
            return fail(r, incomplete(r, err));
        if (len != 3 || memcmp(bytes, "end", 3) != 0)
            return fail(r, KN_EFORMAT);
        if (count != r->records)
            return fail(r, KN_EPROTO);
        r->state = SYNC_BUNDLE_END;
        r->offset += (uint64_t)(m.p - start);
        r->consumed += (size_t)(m.p - start);
        return m.p == m.end ? 0 : fail(r, KN_ETRAIL);
    }
    if ((err = store_mp_bin(&m, &bytes, &len)) < 0)
        return fail(r, incomplete(r, err));
    if (len > STORE_MAX_SIGNED)
        return fail(r, KN_ETOOBIG);
    out->signed_header = bytes;
    out->signed_len = len;
    if ((err = store_mp_nil(&m)) < 0)
        return fail(r, incomplete(r, err));
    if (err == 1) {
        out->payload = NULL;
        out->payload_len = 0;
    } else {
        if ((err = store_mp_bin(&m, &bytes, &len)) < 0)
            return fail(r, incomplete(r, err));
        if (len > STORE_MAX_PAYLOAD)
            return fail(r, KN_ETOOBIG);
        out->payload = bytes;
        out->payload_len = len;
    }
    r->records++;
    r->offset += (uint64_t)(m.p - start);
    r->consumed += (size_t)(m.p - start);
    return 1;
}

int sync_bundle_reader_end(const struct sync_bundle_reader *r)
{
    if (r->state == SYNC_BUNDLE_END && r->consumed == r->in.len)
        return 0;
    return r->state == SYNC_BUNDLE_FAILED ? KN_EPROTO : KN_ETRUNC;
}
