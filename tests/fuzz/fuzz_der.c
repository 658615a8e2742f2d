/* SPDX-License-Identifier: MIT */
/* The strict DER reader: any bytes as a certificate, and as a run of elements. */
#include <string.h>

#include "der.h"
#include "fuzz.h"
#include "kn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char hsa[65], serial[41];
    int r = der_cert_subject_serial(data, size, hsa, sizeof(hsa), serial);
    FUZZ_CHECK(r == 0 || r == KN_EBADCARD || r == KN_ENOTFOUND);
    if (r == 0) {
        size_t n = strlen(hsa);
        FUZZ_CHECK(n >= 1 && n <= 64);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(hsa[i] >= 0x20 && hsa[i] <= 0x7e);
        FUZZ_CHECK(strlen(serial) <= 40 && strlen(serial) % 2 == 0);
        FUZZ_CHECK(der_check(data, size) == 0);
    }
    /* Elements read one after another tile exactly what they cover, within the input. */
    struct der d;
    struct der_tlv t;
    size_t covered = 0;
    der_init(&d, data, size);
    while ((r = der_next(&d, &t)) == 1) {
        FUZZ_CHECK(t.raw == data + covered);
        FUZZ_CHECK(t.v + t.len == t.raw + t.raw_len && t.len <= DER_MAX_LEN);
        covered += t.raw_len;
        FUZZ_CHECK(covered <= size);
    }
    FUZZ_CHECK(r == 0 ? covered == size : r == KN_EBADCARD);
    long h = der_header(data, size);
    FUZZ_CHECK(h == KN_EAGAIN || h == KN_EBADCARD || h == KN_ETOOBIG ||
               (h >= 2 && h <= DER_MAX_LEN + 4));
    return 0;
}
