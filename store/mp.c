/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "internal.h"

static int need(const struct store_mp *m, size_t n)
{
    return (size_t)(m->end - m->p) >= n ? 0 : KN_ETRUNC;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Read n big-endian bytes after the type byte; the value must need at least min to be canonical. */
static int read_be(struct store_mp *m, int n, uint64_t min, uint64_t *v)
{
    int r = need(m, 1 + (size_t)n);
    if (r < 0)
        return r;
    *v = be(m->p + 1, n);
    if (*v < min)
        return KN_ENONCANON;
    m->p += 1 + n;
    return 0;
}

int store_mp_uint(struct store_mp *m, uint64_t *v)
{
    int r = need(m, 1);
    if (r < 0)
        return r;
    uint8_t b = m->p[0];
    if (b <= 0x7f) {
        *v = b;
        m->p++;
        return 0;
    }
    switch (b) {
    case 0xcc:
        return read_be(m, 1, 0x80, v);
    case 0xcd:
        return read_be(m, 2, 0x100, v);
    case 0xce:
        return read_be(m, 4, 0x10000, v);
    case 0xcf:
        return read_be(m, 8, 0x100000000ull, v);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        /* A signed form holding a non-negative number is a second spelling of a uint. */
        int n = 1 << (b - 0xd0);
        r = need(m, 1 + (size_t)n);
        if (r < 0)
            return r;
        return (m->p[1] & 0x80) ? KN_ETYPE : KN_ENONCANON;
    }
    case 0xc1:
        return KN_EMALFORMED;
    default:
        return KN_ETYPE;
    }
}

/* Length of a str/bin/array/map header whose forms are fix (fixmask), 8, 16 and 32 bits. */
static int read_len(struct store_mp *m, int width, uint32_t min, uint32_t *len)
{
    uint64_t v;
    int r = read_be(m, width, min, &v);
    if (r < 0)
        return r;
    *len = (uint32_t)v;
    return 0;
}

int store_mp_array(struct store_mp *m, uint32_t *count)
{
    int r = need(m, 1);
    if (r < 0)
        return r;
    uint8_t b = m->p[0];
    if ((b & 0xf0) == 0x90) {
        *count = b & 0x0f;
        m->p++;
    } else if (b == 0xdc) {
        r = read_len(m, 2, 16, count);
    } else if (b == 0xdd) {
        r = read_len(m, 4, 0x10000, count);
    } else {
        return b == 0xc1 ? KN_EMALFORMED : KN_ETYPE;
    }
    if (r < 0)
        return r;
    /* Every element takes at least one byte. */
    return *count <= (size_t)(m->end - m->p) ? 0 : KN_ETRUNC;
}

static int read_bytes(struct store_mp *m, uint32_t len, const uint8_t **bytes)
{
    int r = need(m, len);
    if (r < 0)
        return r;
    *bytes = m->p;
    m->p += len;
    return 0;
}

int store_mp_bin(struct store_mp *m, const uint8_t **bytes, uint32_t *len)
{
    int r = need(m, 1);
    if (r < 0)
        return r;
    switch (m->p[0]) {
    case 0xc4:
        r = read_len(m, 1, 0, len);
        break;
    case 0xc5:
        r = read_len(m, 2, 0x100, len);
        break;
    case 0xc6:
        r = read_len(m, 4, 0x10000, len);
        break;
    case 0xc1:
        return KN_EMALFORMED;
    default:
        return KN_ETYPE;
    }
    if (r < 0)
        return r;
    return read_bytes(m, *len, bytes);
}

int store_mp_str(struct store_mp *m, const uint8_t **bytes, uint32_t *len)
{
    int r = need(m, 1);
    if (r < 0)
        return r;
    uint8_t b = m->p[0];
    if ((b & 0xe0) == 0xa0) {
        *len = b & 0x1f;
        m->p++;
    } else if (b == 0xd9) {
        r = read_len(m, 1, 32, len);
    } else if (b == 0xda) {
        r = read_len(m, 2, 0x100, len);
    } else if (b == 0xdb) {
        r = read_len(m, 4, 0x10000, len);
    } else {
        return b == 0xc1 ? KN_EMALFORMED : KN_ETYPE;
    }
    if (r < 0)
        return r;
    return read_bytes(m, *len, bytes);
}

int store_mp_nil(struct store_mp *m)
{
    int r = need(m, 1);
    if (r < 0)
        return r;
    if (m->p[0] != 0xc0)
        return 0;
    m->p++;
    return 1;
}

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* A negative integer in its shortest signed form; positive values must use the uint forms. */
static int skip_negative(struct store_mp *m, uint8_t b)
{
    int n = 1 << (b - 0xd0);
    int r = need(m, 1 + (size_t)n);
    if (r < 0)
        return r;
    uint64_t u = be(m->p + 1, n);
    if (!(m->p[1] & 0x80))
        return KN_ENONCANON;
    /* Sign-extend, then require that the next smaller form could not hold it. */
    int64_t v = (int64_t)(u | (n < 8 ? ~((1ull << (8 * n)) - 1) : 0));
    static const int64_t smaller_min[] = { -32, -128, -32768, -2147483648LL };
    if (v >= smaller_min[b - 0xd0])
        return KN_ENONCANON;
    m->p += 1 + n;
    return 0;
}

static int key_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int store_mp_skip(struct store_mp *m, int depth)
{
    int r = need(m, 1);
    if (r < 0)
        return r;
    uint8_t b = m->p[0];
    const uint8_t *bytes;
    uint32_t len;
    uint64_t u;

    if (b <= 0x7f || b == 0xcc || b == 0xcd || b == 0xce || b == 0xcf)
        return store_mp_uint(m, &u);
    if (b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        m->p++;
        return 0;
    }
    if (b >= 0xd0 && b <= 0xd3)
        return skip_negative(m, b);
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
        r = store_mp_str(m, &bytes, &len);
        if (r < 0)
            return r;
        return utf8_valid(bytes, len) ? 0 : KN_EFIELD;
    }
    if (b >= 0xc4 && b <= 0xc6)
        return store_mp_bin(m, &bytes, &len);
    /* A container at depth d is the (d+1)th level: at most STORE_MAX_DEPTH of them. */
    if (((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd || (b & 0xf0) == 0x80 || b == 0xde ||
         b == 0xdf) &&
        depth >= STORE_MAX_DEPTH)
        return KN_EDEPTH;
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
        r = store_mp_array(m, &len);
        for (uint32_t i = 0; r == 0 && i < len; i++)
            r = store_mp_skip(m, depth + 1);
        return r;
    }
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
        if ((b & 0xf0) == 0x80) {
            len = b & 0x0f;
            m->p++;
        } else {
            r = read_len(m, b == 0xde ? 2 : 4, b == 0xde ? 16 : 0x10000, &len);
            if (r < 0)
                return r;
        }
        if (len > (size_t)(m->end - m->p) / 2)
            return KN_ETRUNC;
        const uint8_t *prev = NULL;
        uint32_t prev_len = 0;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t klen;
            /* Keys are strings, strictly ascending: one order, no repeats. */
            if (need(m, 1) == 0 &&
                !((m->p[0] & 0xe0) == 0xa0 || (m->p[0] >= 0xd9 && m->p[0] <= 0xdb)))
                return KN_ETYPE;
            const uint8_t *key = m->p;
            r = store_mp_skip(m, depth + 1);
            if (r < 0)
                return r;
            r = 0;
            struct store_mp k = { key, m->p };
            (void)store_mp_str(&k, &bytes, &klen);
            if (prev && key_cmp(prev, prev_len, bytes, klen) >= 0)
                return KN_EKEYORDER;
            prev = bytes;
            prev_len = klen;
            r = store_mp_skip(m, depth + 1);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (b == 0xca || b == 0xcb)
        return KN_ETYPE; /* floats have more than one spelling of a value */
    if (b == 0xc1)
        return KN_EMALFORMED;
    return KN_ETYPE; /* ext types */
}

int store__buf_write(void *data, const char *buf, size_t len)
{
    struct store__buf *b = data;
    if (b->overflow || len > b->cap - b->len) {
        b->overflow = 1;
        return -1;
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    return 0;
}
