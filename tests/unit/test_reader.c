/* SPDX-License-Identifier: MIT */
/*
 * The reader's parsing, without PC/SC: the strict DER reader over real certificates made with
 * openssl (tests/vectors/reader/) and every way of breaking them, and card identification
 * against a scripted card (struct reader_impl) that answers like a PKCS#15 card, or badly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "der.h"
#include "reader.h"

static uint8_t *load(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/vectors/reader/%s", KORTNOD_SOURCE_ROOT, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(DER_MAX_LEN);
    *n = fread(buf, 1, DER_MAX_LEN, f);
    fclose(f);
    return buf;
}

static void test_der_cert(void **state)
{
    (void)state;
    size_t n;
    uint8_t *cert = load("hsa-test1.der", &n);
    char hsa[65], serial[41];
    assert_int_equal(der_cert_subject_serial(cert, n, hsa, sizeof(hsa), serial), 0);
    assert_string_equal(hsa, "SE2321000016-TEST1");
    assert_string_equal(serial, "275b4bf0abecfca7fb6fce3b451139f809122cc1");
    assert_int_equal(der_header(cert, 4), (long)n);
    /* Too small a buffer for the value is a refusal, never a cut-off string. */
    assert_int_equal(der_cert_subject_serial(cert, n, hsa, 10, serial), KN_EBADCARD);
    free(cert);

    cert = load("no-serial.der", &n);
    assert_int_equal(der_cert_subject_serial(cert, n, hsa, sizeof(hsa), serial), KN_ENOTFOUND);
    free(cert);
}

/* Every cut and every single-byte change of the certificate: an answer or a refusal, no crash,
 * and a cut certificate is always refused. */
static void test_der_mutations(void **state)
{
    (void)state;
    size_t n;
    uint8_t *cert = load("hsa-test1.der", &n);
    char hsa[65], serial[41];
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exactly cut bytes: ASan sees any overread */
        memcpy(copy, cert, cut);
        assert_int_equal(der_cert_subject_serial(copy, cut, hsa, sizeof(hsa), serial), KN_EBADCARD);
        free(copy);
    }
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++) {
        static const uint8_t flips[] = { 0x01, 0x80, 0xff };
        for (size_t k = 0; k < sizeof(flips); k++) {
            cert[i] ^= flips[k];
            int r = der_cert_subject_serial(cert, n, hsa, sizeof(hsa), serial);
            assert_true(r == 0 || r == KN_EBADCARD || r == KN_ENOTFOUND);
            if (r == 0) {
                accepted++;
                assert_true(strlen(hsa) >= 1 && strlen(hsa) <= 64);
            }
            cert[i] ^= flips[k];
        }
    }
    /* Changes inside the key or signature bits keep the shape; changes of structure do not. */
    assert_true(accepted > 0 && accepted < 3 * n);
    /* A trailing byte after the certificate is refused. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, cert, n);
    longer[n] = 0;
    assert_int_equal(der_cert_subject_serial(longer, n + 1, hsa, sizeof(hsa), serial), KN_EBADCARD);
    free(longer);
    free(cert);
}

static void test_der_rules(void **state)
{
    (void)state;
    struct der d;
    struct der_tlv t;
    /* the shortest form only */
    static const uint8_t long_for_short[] = { 0x04, 0x81, 0x05, 1, 2, 3, 4, 5 };
    der_init(&d, long_for_short, sizeof(long_for_short));
    assert_int_equal(der_next(&d, &t), KN_EBADCARD);
    static const uint8_t leading_zero[] = { 0x04, 0x82, 0x00, 0x81 };
    assert_int_equal(der_header(leading_zero, sizeof(leading_zero)), KN_EBADCARD);
    /* no indefinite length, no multi-byte tags, nothing beyond DER_MAX_LEN */
    static const uint8_t indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
    assert_int_equal(der_check(indefinite, sizeof(indefinite)), KN_EBADCARD);
    static const uint8_t high_tag[] = { 0x1f, 0x81, 0x00, 0x00 };
    assert_int_equal(der_check(high_tag, sizeof(high_tag)), KN_EBADCARD);
    static const uint8_t huge[] = { 0x30, 0x82, 0x7f, 0xff };
    assert_int_equal(der_header(huge, sizeof(huge)), KN_ETOOBIG);
    static const uint8_t three[] = { 0x30, 0x83, 0x01, 0x00, 0x00 };
    assert_int_equal(der_header(three, sizeof(three)), KN_ETOOBIG);
    /* a value running past its container */
    static const uint8_t past[] = { 0x30, 0x03, 0x04, 0x05, 0x00 };
    assert_int_equal(der_check(past, sizeof(past)), KN_EBADCARD);
    /* a header cut short asks for more */
    assert_int_equal(der_header(huge, 3), KN_EAGAIN);
    /* nesting: DER_MAX_DEPTH levels pass, one more does not */
    uint8_t deep[2 * (DER_MAX_DEPTH + 2)];
    for (int levels = DER_MAX_DEPTH; levels <= DER_MAX_DEPTH + 1; levels++) {
        for (int i = 0; i < levels; i++) {
            deep[2 * i] = 0x30;
            deep[2 * i + 1] = (uint8_t)(2 * (levels - i - 1));
        }
        assert_int_equal(der_check(deep, 2 * (size_t)levels),
                         levels == DER_MAX_DEPTH ? 0 : KN_EBADCARD);
    }
}

/* ---- a scripted card ---- */

struct file {
    uint16_t path[4]; /* from the MF, 3F00 first */
    size_t depth;
    const uint8_t *data;
    size_t len;
};

struct script {
    struct file files[6];
    size_t nfiles;
    const struct file *current;
    const uint8_t *cplc; /* 45 bytes with the tag, or NULL: 6A88 */
    uint16_t fail_sw;    /* answer this to the command number fail_at (0: never) */
    size_t fail_at, commands;
    size_t gone_at;     /* the card is pulled at this command (0: never) */
    size_t truncate_at; /* answer one byte at this command */
    bool cla00;         /* GET DATA only in class 00 */
};

static size_t put_sw(uint8_t *rsp, size_t n, uint16_t sw)
{
    rsp[n] = (uint8_t)(sw >> 8);
    rsp[n + 1] = (uint8_t)sw;
    return n + 2;
}

static int scripted(void *ctx, const uint8_t *cmd, size_t cl, uint8_t *rsp, size_t *rl)
{
    struct script *s = ctx;
    s->commands++;
    if (s->gone_at && s->commands >= s->gone_at)
        return KN_ECARDGONE;
    if (s->truncate_at && s->commands == s->truncate_at) {
        rsp[0] = 0x90;
        *rl = 1;
        return 0;
    }
    if (s->fail_at && s->commands == s->fail_at) {
        *rl = put_sw(rsp, 0, s->fail_sw);
        return 0;
    }
    assert_true(cl >= 4);
    if (cmd[1] == 0xca) {
        if (s->cla00 && cmd[0] == 0x80)
            *rl = put_sw(rsp, 0, 0x6e00);
        else if (!s->cplc)
            *rl = put_sw(rsp, 0, 0x6a88);
        else {
            memcpy(rsp, s->cplc, 45);
            *rl = put_sw(rsp, 45, 0x9000);
        }
        return 0;
    }
    if (cmd[1] == 0xa4) {
        uint16_t want[4] = { 0x3f00 };
        size_t depth = 1;
        assert_true(cl >= 5 && cmd[4] % 2 == 0);
        for (size_t i = 0; i < cmd[4] / 2u; i++) {
            uint16_t fid = (uint16_t)(cmd[5 + 2 * i] << 8 | cmd[6 + 2 * i]);
            if (!(cmd[2] == 0x00 && fid == 0x3f00))
                want[depth++] = fid;
        }
        for (size_t f = 0; f < s->nfiles; f++)
            if (s->files[f].depth == depth &&
                !memcmp(s->files[f].path, want, depth * sizeof(want[0]))) {
                s->current = &s->files[f];
                *rl = put_sw(rsp, 0, 0x9000);
                return 0;
            }
        *rl = put_sw(rsp, 0, 0x6a82);
        return 0;
    }
    if (cmd[1] == 0xb0) {
        size_t off = (size_t)cmd[2] << 8 | cmd[3], le = cmd[4] ? cmd[4] : 256;
        if (!s->current) {
            *rl = put_sw(rsp, 0, 0x6986);
            return 0;
        }
        if (off > s->current->len) {
            *rl = put_sw(rsp, 0, 0x6b00);
            return 0;
        }
        size_t n = s->current->len - off < le ? s->current->len - off : le;
        memcpy(rsp, s->current->data + off, n);
        *rl = put_sw(rsp, n, n < le ? 0x6282 : 0x9000);
        return 0;
    }
    *rl = put_sw(rsp, 0, 0x6d00);
    return 0;
}

static const uint8_t cplc[45] = { 0x9f, 0x7f, 0x2a, 0x47, 0x90, 0x50, 0x40, 1,    2,   3,
                                  4,    5,    6,    7,    8,    0xde, 0xad, 0xbe, 0xef };
static const uint8_t efdir[] = { 0x61, 0x19, 0x4f, 0x0c, 0xa0, 0x00, 0x00, 0x00, 0x63, 0x50,
                                 0x4b, 0x43, 0x53, 0x2d, 0x31, 0x35, 0x50, 0x03, 'P',  '1',
                                 '5',  0x51, 0x04, 0x3f, 0x00, 0x50, 0x15, 0x00, 0x00, 0xff };
static const uint8_t odf[] = { 0xa0, 0x06, 0x30, 0x04, 0x04, 0x02, 0x44, 0x00,
                               0xa4, 0x06, 0x30, 0x04, 0x04, 0x02, 0x44, 0x04 };
/* the path in the CDF is relative to the application: 4331 */
static const uint8_t cdf[] = { 0x30, 0x17, 0x30, 0x06, 0x0c, 0x04, 'A',  'u',  't',
                               'h',  0x30, 0x03, 0x04, 0x01, 0x45, 0xa1, 0x08, 0x30,
                               0x06, 0x30, 0x04, 0x04, 0x02, 0x43, 0x31, 0x00, 0x00 };

static void script_init(struct script *s, const uint8_t *cert, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->cplc = cplc;
    s->files[0] = (struct file){ { 0x3f00 }, 1, NULL, 0 };
    s->files[1] = (struct file){ { 0x3f00, 0x2f00 }, 2, efdir, sizeof(efdir) };
    s->files[2] = (struct file){ { 0x3f00, 0x5015, 0x5031 }, 3, odf, sizeof(odf) };
    s->files[3] = (struct file){ { 0x3f00, 0x5015, 0x4404 }, 3, cdf, sizeof(cdf) };
    s->files[4] = (struct file){ { 0x3f00, 0x5015, 0x4331 }, 3, cert, n };
    s->files[5] = (struct file){ { 0x3f00, 0x5015 }, 2, NULL, 0 };
    s->nfiles = 6;
}

static int identify(struct script *s, struct reader_identity *id, char *why, size_t why_size)
{
    struct reader_impl impl = { scripted, s };
    memset(id, 0, sizeof(*id));
    return reader_identify(&impl, id, why, why_size);
}

static void test_identify(void **state)
{
    (void)state;
    size_t n;
    uint8_t *cert = load("hsa-test1.der", &n);
    struct script s;
    struct reader_identity id;
    char why[160];

    script_init(&s, cert, n);
    assert_int_equal(identify(&s, &id, why, sizeof(why)), 0);
    assert_string_equal(id.chip, "47905040DEADBEEF");
    assert_string_equal(id.hsa_id, "SE2321000016-TEST1");
    assert_string_equal(id.cert_serial, "275b4bf0abecfca7fb6fce3b451139f809122cc1");

    /* GET DATA known only in class 00: asked again */
    script_init(&s, cert, n);
    s.cla00 = true;
    assert_int_equal(identify(&s, &id, why, sizeof(why)), 0);
    assert_string_equal(id.chip, "47905040DEADBEEF");

    /* no CPLC: no chip serial, the HSA-id still */
    script_init(&s, cert, n);
    s.cplc = NULL;
    assert_int_equal(identify(&s, &id, why, sizeof(why)), 0);
    assert_string_equal(id.chip, "");
    assert_string_equal(id.hsa_id, "SE2321000016-TEST1");

    /* no EF.DIR: the default place 3F00 5015 */
    script_init(&s, cert, n);
    s.files[1].depth = 0;
    assert_int_equal(identify(&s, &id, why, sizeof(why)), 0);
    assert_string_equal(id.hsa_id, "SE2321000016-TEST1");

    /* no PKCS#15 application at all: the chip alone */
    script_init(&s, cert, n);
    s.nfiles = 1;
    assert_int_equal(identify(&s, &id, why, sizeof(why)), 0);
    assert_string_equal(id.chip, "47905040DEADBEEF");
    assert_string_equal(id.hsa_id, "");
    free(cert);
}

static void test_identify_failures(void **state)
{
    (void)state;
    size_t n;
    uint8_t *cert = load("hsa-test1.der", &n);
    struct script s;
    struct reader_identity id;
    char why[160];

    script_init(&s, cert, n);
    struct reader_impl impl = { scripted, &s };
    assert_int_equal(reader_identify(&impl, &id, why, sizeof(why)), 0);
    size_t commands = s.commands;
    assert_true(commands >= 10);

    /* pulled at every command in turn */
    for (size_t at = 1; at <= commands; at++) {
        script_init(&s, cert, n);
        s.gone_at = at;
        assert_int_equal(identify(&s, &id, why, sizeof(why)), KN_ECARDGONE);
        assert_string_equal(id.chip, "");
        assert_string_equal(id.hsa_id, "");
        assert_non_null(strstr(why, "removed"));
    }
    /* an answer cut to one byte at every command */
    for (size_t at = 1; at <= commands; at++) {
        script_init(&s, cert, n);
        s.truncate_at = at;
        assert_int_equal(identify(&s, &id, why, sizeof(why)), KN_EBADCARD);
        assert_string_equal(id.hsa_id, "");
    }
    /* an error status at every command: refused (or, for a SELECT, a missing file) */
    for (size_t at = 1; at <= commands; at++) {
        script_init(&s, cert, n);
        s.fail_at = at;
        s.fail_sw = 0x6f00;
        int r = identify(&s, &id, why, sizeof(why));
        assert_true(r == KN_ECARDERR || r == KN_EBADCARD);
        assert_true(why[0] != '\0');
    }
    /* the certificate changed: a malformed one is refused */
    uint8_t *bad = malloc(n);
    memcpy(bad, cert, n);
    bad[1] ^= 0x01; /* its length */
    script_init(&s, bad, n);
    assert_int_equal(identify(&s, &id, why, sizeof(why)), KN_EBADCARD);
    /* a certificate cut short */
    script_init(&s, cert, n / 2);
    assert_int_equal(identify(&s, &id, why, sizeof(why)), KN_EBADCARD);
    assert_non_null(strstr(why, "ends after"));
    free(bad);
    free(cert);
}

static void test_cplc(void **state)
{
    (void)state;
    char chip[17];
    assert_int_equal(reader_parse_cplc(cplc, sizeof(cplc), chip), 0);
    assert_string_equal(chip, "47905040DEADBEEF");
    assert_int_equal(reader_parse_cplc(cplc, 44, chip), KN_EBADCARD);
    uint8_t other[45];
    memcpy(other, cplc, 45);
    other[2] = 0x29;
    assert_int_equal(reader_parse_cplc(other, 45, chip), KN_EBADCARD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der_cert),          cmocka_unit_test(test_der_mutations),
        cmocka_unit_test(test_der_rules),         cmocka_unit_test(test_identify),
        cmocka_unit_test(test_identify_failures), cmocka_unit_test(test_cplc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
