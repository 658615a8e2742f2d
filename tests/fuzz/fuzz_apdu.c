/* SPDX-License-Identifier: MIT */
/*
 * Card identification over any answers: the input is the card's side of the conversation, a run
 * of responses each written as a 2-byte big-endian length and that many bytes (length 0: the card
 * is pulled), whatever the reader asked. When the input ends, the card is gone.
 */
#include <string.h>

#include "fuzz.h"
#include "reader.h"

struct feed {
    const uint8_t *p;
    size_t n;
    size_t commands;
};

static int transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t *rsp_len)
{
    struct feed *f = ctx;
    FUZZ_CHECK(cmd_len >= 4 && cmd_len <= 5 + 255 + 1);
    FUZZ_CHECK(*rsp_len >= READER_MAX_RSP);
    f->commands++;
    if (f->n < 2)
        return KN_ECARDGONE;
    size_t len = (size_t)f->p[0] << 8 | f->p[1];
    f->p += 2;
    f->n -= 2;
    if (len == 0)
        return KN_ECARDGONE;
    if (len > f->n)
        len = f->n;
    if (len > READER_MAX_RSP)
        len = READER_MAX_RSP;
    memcpy(rsp, f->p, len);
    f->p += len;
    f->n -= len;
    *rsp_len = len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed f = { data, size, 0 };
    struct reader_impl impl = { transmit, &f };
    struct reader_identity id;
    char why[160];
    memset(&id, 0x5a, sizeof(id)); /* whatever was there before must not leak through */
    int r = reader_identify(&impl, &id, why, sizeof(why));
    FUZZ_CHECK(r == 0 || r == KN_ECARDGONE || r == KN_ECARDERR || r == KN_EBADCARD);
    /* Every command costs an answer of at least two bytes: it ends when the input does. */
    FUZZ_CHECK(f.commands <= size / 2 + 1);
    FUZZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);
    if (r < 0) {
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_CHECK(!id.chip[0] && !id.hsa_id[0] && !id.cert_serial[0]);
        return 0;
    }
    FUZZ_CHECK(strlen(id.chip) == 0 || strspn(id.chip, "0123456789ABCDEF") == 16);
    FUZZ_CHECK(strlen(id.chip) == 0 || strlen(id.chip) == 16);
    size_t n = strlen(id.hsa_id);
    FUZZ_CHECK(n <= READER_MAX_HSA_ID);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(id.hsa_id[i] >= 0x20 && id.hsa_id[i] <= 0x7e);
    FUZZ_CHECK(strlen(id.cert_serial) <= 40);
    return 0;
}
