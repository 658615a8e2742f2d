/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <msgpack.h>

#include "fuzz.h"
#include "store.h"

static int sbuf_write(void *data, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(data, buf, len);
}

/* RFC 3629 well-formed UTF-8, written from its table of byte ranges. */
static int utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        uint8_t lo = 0x80, hi = 0xbf;
        size_t k;
        if (c <= 0x7f) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
            return 0;
        if (n - i - 1 < k || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xbf)
                return 0;
        i += k + 1;
    }
    return 1;
}

/* Pack o with msgpack-c's packer, which always picks the shortest form. */
static void repack(msgpack_packer *pk, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        msgpack_pack_nil(pk);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        if (o->via.boolean)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        msgpack_pack_uint64(pk, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        msgpack_pack_int64(pk, o->via.i64);
        break;
    case MSGPACK_OBJECT_STR:
        FUZZ_CHECK(utf8_ok((const uint8_t *)o->via.str.ptr, o->via.str.size));
        msgpack_pack_str(pk, o->via.str.size);
        msgpack_pack_str_body(pk, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        msgpack_pack_bin(pk, o->via.bin.size);
        msgpack_pack_bin_body(pk, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            repack(pk, &o->via.array.ptr[i]);
        break;
    case MSGPACK_OBJECT_MAP:
        msgpack_pack_map(pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_str *k = &o->via.map.ptr[i].key.via.str;
            FUZZ_CHECK(o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR);
            if (i > 0) {
                /* Keys strictly ascending as byte strings: one order, no repeats. */
                const msgpack_object_str *prev = &o->via.map.ptr[i - 1].key.via.str;
                size_t m = prev->size < k->size ? prev->size : k->size;
                int c = m ? memcmp(prev->ptr, k->ptr, m) : 0;
                FUZZ_CHECK(c < 0 || (c == 0 && prev->size < k->size));
            }
            repack(pk, &o->via.map.ptr[i].key);
            repack(pk, &o->via.map.ptr[i].val);
        }
        break;
    default:
        /* Floats and extension types have no canonical form: the check must refuse them. */
        FUZZ_CHECK(!"accepted a float or an extension type");
    }
}

/* Containers nested around the deepest value of an accepted (so well-formed) payload. */
static int nesting(const uint8_t **p)
{
    uint8_t b = *(*p)++;
    uint32_t n = 0, items;
    int width = 0, deepest = 0;

    if ((b & 0xf0) == 0x90 || (b & 0xf0) == 0x80) {
        n = b & 0x0f;
    } else if (b == 0xdc || b == 0xde) {
        width = 2;
    } else if (b == 0xdd || b == 0xdf) {
        width = 4;
    } else if ((b & 0xe0) == 0xa0) {
        *p += b & 0x1f;
        return 0;
    } else if (b == 0xc4 || b == 0xd9 || b == 0xc5 || b == 0xda || b == 0xc6 || b == 0xdb) {
        int w = (b == 0xc4 || b == 0xd9) ? 1 : (b == 0xc5 || b == 0xda) ? 2 : 4;
        uint32_t len = 0;
        for (int i = 0; i < w; i++)
            len = (len << 8) | *(*p)++;
        *p += len;
        return 0;
    } else {
        static const uint8_t extra[] = { [0xcc] = 1, [0xcd] = 2, [0xce] = 4, [0xcf] = 8,
                                         [0xd0] = 1, [0xd1] = 2, [0xd2] = 4, [0xd3] = 8 };
        *p += b < sizeof(extra) ? extra[b] : 0;
        return 0;
    }
    for (int i = 0; i < width; i++)
        n = (n << 8) | *(*p)++;
    items = ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) ? 2 * n : n;
    for (uint32_t i = 0; i < items; i++) {
        int d = nesting(p);
        if (d > deepest)
            deepest = d;
    }
    return deepest + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t off = 0;

    if (store_payload_check(data, size) != 0)
        return 0;
    FUZZ_CHECK(size > 0 && size <= STORE_MAX_PAYLOAD);

    /* Safe only because the strict check has bounded every count by the bytes present. */
    msgpack_unpacked_init(&u);
    msgpack_unpack_return ur = msgpack_unpack_next(&u, (const char *)data, size, &off);
    /* Whatever the strict check accepts, msgpack-c can read: at most 32 nested containers. */
    FUZZ_CHECK(ur == MSGPACK_UNPACK_SUCCESS);
    const uint8_t *p = data;
    FUZZ_CHECK(nesting(&p) <= STORE_MAX_DEPTH);
    FUZZ_CHECK(p == data + size);
    FUZZ_CHECK(off == size);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, sbuf_write);
    repack(&pk, &u.data);
    FUZZ_CHECK(sb.size == size);
    FUZZ_CHECK(memcmp(sb.data, data, size) == 0);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    return 0;
}
