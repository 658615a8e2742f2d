/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "internal.h"

void store__hash(const uint8_t *buf, size_t len, uint8_t out[STORE_HASH_LEN])
{
    crypto_generichash(out, STORE_HASH_LEN, buf, len, NULL, 0);
}

static int read_key(struct store_mp *m, uint8_t out[32])
{
    const uint8_t *b;
    uint32_t n;
    int r = store_mp_bin(m, &b, &n);
    if (r < 0)
        return r;
    if (n != 32)
        return KN_EFIELD;
    memcpy(out, b, 32);
    return 0;
}

static int type_valid(const uint8_t *s, size_t n)
{
    if (n == 0 || n > STORE_MAX_TYPE)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int decode_dep(struct store_mp *m, struct store_entry_id *d)
{
    uint32_t n;
    int r = store_mp_array(m, &n);
    if (r < 0)
        return r;
    if (n != 3)
        return KN_EFIELD;
    if ((r = read_key(m, d->author)) < 0 || (r = store_mp_uint(m, &d->seq)) < 0)
        return r;
    if (d->seq == 0)
        return KN_EFIELD;
    return read_key(m, d->hash);
}

int store_entry_decode(const uint8_t *sh, size_t len, struct store_entry *out)
{
    struct store_mp m = { sh, sh + len };
    const uint8_t *b;
    uint32_t n;
    int r;

    if (len > STORE_MAX_SIGNED)
        return KN_ETOOBIG;
    if ((r = store_mp_array(&m, &n)) < 0)
        return r;
    if ((r = store_mp_uint(&m, &out->version)) < 0)
        return r;
    if (out->version != STORE_VERSION)
        return KN_EVERSION;
    if (n != 9)
        return KN_EFIELD;
    if ((r = read_key(&m, out->author)) < 0)
        return r;
    if ((r = store_mp_uint(&m, &out->seq)) < 0)
        return r;
    if (out->seq == 0 || out->seq > INT64_MAX)
        return KN_EFIELD;
    if ((r = store_mp_nil(&m)) < 0)
        return r;
    out->has_prev = (r == 0);
    if (out->has_prev && (r = read_key(&m, out->prev_hash)) < 0)
        return r;
    if (out->has_prev != (out->seq > 1))
        return KN_EPREV;
    if (!out->has_prev)
        memset(out->prev_hash, 0, sizeof(out->prev_hash));
    if ((r = store_mp_uint(&m, &out->timestamp_ms)) < 0)
        return r;
    if ((r = store_mp_str(&m, &b, &n)) < 0)
        return r;
    if (!type_valid(b, n))
        return KN_EFIELD;
    memcpy(out->type, b, n);
    out->type[n] = '\0';
    if ((r = store_mp_array(&m, &n)) < 0)
        return r;
    if (n > STORE_MAX_DEPS)
        return KN_ETOOBIG;
    out->ndeps = n;
    for (uint32_t i = 0; i < n; i++)
        if ((r = decode_dep(&m, &out->deps[i])) < 0)
            return r;
    if ((r = store_mp_uint(&m, &out->payload_len)) < 0)
        return r;
    if (out->payload_len > STORE_MAX_PAYLOAD)
        return KN_ETOOBIG;
    if ((r = read_key(&m, out->payload_hash)) < 0)
        return r;

    out->header_len = (size_t)(m.p - sh);
    if (out->header_len > STORE_MAX_HEADER)
        return KN_ETOOBIG;
    if (len - out->header_len < STORE_SIG_LEN)
        return KN_ETRUNC;
    if (len - out->header_len > STORE_SIG_LEN)
        return KN_ETRAIL;
    out->signed_len = len;
    memcpy(out->signed_header, sh, len);
    store__hash(sh, len, out->hash);
    return 0;
}

int store_entry_verify_sig(const struct store_entry *e)
{
    if (crypto_sign_verify_detached(e->signed_header + e->header_len, e->signed_header,
                                    e->header_len, e->author) != 0)
        return KN_ESIG;
    return 0;
}

int store_entry_check_payload(const struct store_entry *e, const uint8_t *payload, size_t len)
{
    uint8_t h[STORE_HASH_LEN];
    if (len != e->payload_len)
        return KN_EPAYLOAD;
    store__hash(payload, len, h);
    if (sodium_memcmp(h, e->payload_hash, STORE_HASH_LEN) != 0)
        return KN_EPAYLOAD;
    return store_payload_check(payload, len);
}

int store_payload_check(const uint8_t *buf, size_t len)
{
    struct store_mp m = { buf, buf + len };
    if (len > STORE_MAX_PAYLOAD)
        return KN_ETOOBIG;
    int r = store_mp_skip(&m, 0);
    if (r < 0)
        return r;
    return m.p == m.end ? 0 : KN_ETRAIL;
}

int store_entry_sign(const struct store_draft *d, uint64_t seq, const uint8_t prev[STORE_HASH_LEN],
                     const uint8_t sk[static STORE_SECRET_LEN], struct store_entry *out)
{
    uint8_t header[STORE_MAX_SIGNED];
    uint8_t phash[STORE_HASH_LEN];
    struct store__buf buf = { header, 0, STORE_MAX_HEADER, 0 };
    msgpack_packer pk;
    size_t tlen = d->type ? strlen(d->type) : 0;
    int r;

    if (!type_valid((const uint8_t *)d->type, tlen) || d->ndeps > STORE_MAX_DEPS ||
        d->payload_len > STORE_MAX_PAYLOAD || seq == 0 || seq > INT64_MAX ||
        (seq > 1) != (prev != NULL))
        return KN_EINVAL;
    if ((r = store_payload_check(d->payload, d->payload_len)) < 0)
        return r;
    store__hash(d->payload, d->payload_len, phash);

    msgpack_packer_init(&pk, &buf, store__buf_write);
    msgpack_pack_array(&pk, 9);
    msgpack_pack_uint64(&pk, STORE_VERSION);
    msgpack_pack_bin(&pk, STORE_KEY_LEN);
    msgpack_pack_bin_body(&pk, sk + 32, STORE_KEY_LEN);
    msgpack_pack_uint64(&pk, seq);
    if (prev) {
        msgpack_pack_bin(&pk, STORE_HASH_LEN);
        msgpack_pack_bin_body(&pk, prev, STORE_HASH_LEN);
    } else {
        msgpack_pack_nil(&pk);
    }
    msgpack_pack_uint64(&pk, d->timestamp_ms);
    msgpack_pack_str(&pk, tlen);
    msgpack_pack_str_body(&pk, d->type, tlen);
    msgpack_pack_array(&pk, d->ndeps);
    for (size_t i = 0; i < d->ndeps; i++) {
        if (d->deps[i].seq == 0)
            return KN_EINVAL;
        msgpack_pack_array(&pk, 3);
        msgpack_pack_bin(&pk, STORE_KEY_LEN);
        msgpack_pack_bin_body(&pk, d->deps[i].author, STORE_KEY_LEN);
        msgpack_pack_uint64(&pk, d->deps[i].seq);
        msgpack_pack_bin(&pk, STORE_HASH_LEN);
        msgpack_pack_bin_body(&pk, d->deps[i].hash, STORE_HASH_LEN);
    }
    msgpack_pack_uint64(&pk, d->payload_len);
    msgpack_pack_bin(&pk, STORE_HASH_LEN);
    msgpack_pack_bin_body(&pk, phash, STORE_HASH_LEN);
    if (buf.overflow)
        return KN_ETOOBIG;

    if (crypto_sign_detached(header + buf.len, NULL, header, buf.len, sk) != 0)
        return KN_ECRYPTO;
    /* Decoding what we just wrote fills *out and proves the encoder canonical. */
    return store_entry_decode(header, buf.len + STORE_SIG_LEN, out);
}

void store_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int store_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return KN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return KN_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
