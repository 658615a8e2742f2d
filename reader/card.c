/* SPDX-License-Identifier: MIT */
/*
 * Identifying a card from its answers: the chip serial from CPLC and the holder's HSA-id from the
 * first certificate of the PKCS#15 application (ISO/IEC 7816-4 commands, PKCS#15 v1.1 files).
 * Everything the card sends is checked before use: status words, lengths, DER.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "reader.h"

#define SW_OK          0x9000
#define SW_EOF         0x6282 /* end of file reached before Le bytes */
#define SW_NOT_FOUND   0x6a82
#define SW_NO_DATA     0x6a88 /* referenced data not found */
#define SW_BAD_P1P2    0x6a86
#define SW_BAD_OFFSET  0x6b00
#define SW_NO_INS      0x6d00
#define SW_NO_CLA      0x6e00
#define DIR_MAX        2048 /* EF.DIR, ODF, CDF: a few records each */
#define MAX_GETRESP    64   /* 61xx chains: 16 KiB at most */
#define MAX_CHUNK      0xe0 /* bytes asked per READ BINARY */
#define MAX_PATH_BYTES 16

static const uint8_t pkcs15_aid[] = { 0xa0, 0x00, 0x00, 0x00, 0x63, 0x50,
                                      0x4b, 0x43, 0x53, 0x2d, 0x31, 0x35 };

struct card {
    const struct reader_impl *impl;
    char *why;
    size_t why_size;
};

static int fail(struct card *c, int err, const char *fmt, ...)
{
    va_list ap;
    if (c->why_size) {
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

/*
 * One command: the answer's data (at most max bytes) into out, its status word into *sw. Follows
 * 61xx (more data: GET RESPONSE) and 6Cxx (wrong Le: ask again with xx) as ISO 7816-4 says.
 */
static int apdu(struct card *c, const uint8_t *cmd, size_t cmd_len, uint8_t *out, size_t max,
                size_t *n, uint16_t *sw)
{
    uint8_t again[5 + 255], rsp[READER_MAX_RSP];
    size_t got = 0;
    int resent = 0;
    *n = 0;
    for (int round = 0; round < MAX_GETRESP; round++) {
        size_t rn = sizeof(rsp);
        int r = c->impl->transmit(c->impl->ctx, cmd, cmd_len, rsp, &rn);
        if (r < 0)
            return r == KN_ECARDGONE ? fail(c, r, "the card was removed during the read")
                                     : fail(c, r, "sending a command: %s", kn_strerror(r));
        if (rn < 2 || rn > sizeof(rsp))
            return fail(c, KN_EBADCARD, "the card's answer is truncated (%zu bytes)", rn);
        *sw = (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
        if (rn - 2 > max - got)
            return fail(c, KN_EBADCARD, "the card answered more data than the file can hold");
        memcpy(out + got, rsp, rn - 2);
        got += rn - 2;
        if (rsp[rn - 2] == 0x6c && !resent && cmd_len >= 5 && cmd_len <= sizeof(again)) {
            /* Wrong Le: the same command with the length the card wants. */
            memcpy(again, cmd, cmd_len);
            again[cmd_len - 1] = rsp[rn - 1];
            cmd = again;
            resent = 1;
            got = 0;
            continue;
        }
        if (rsp[rn - 2] != 0x61)
            break;
        static const uint8_t get_response[4] = { 0x00, 0xc0, 0x00, 0x00 };
        memcpy(again, get_response, 4);
        again[4] = rsp[rn - 1];
        cmd = again;
        cmd_len = 5;
        resent = 1;
    }
    if ((*sw >> 8) == 0x61)
        return fail(c, KN_EBADCARD, "the card's answer never ends (61xx without end)");
    *n = got;
    return 0;
}

void reader_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int reader_parse_cplc(const uint8_t *data, size_t n, char chip[static 17])
{
    /* 9F 7F 2A, then 42 bytes: fabricator(2) type(2) OS id(2) OS date(2) OS level(2) fab date(2)
     * serial(4) ... (GlobalPlatform card specification, CPLC data). */
    if (n != 45 || data[0] != 0x9f || data[1] != 0x7f || data[2] != 0x2a)
        return KN_EBADCARD;
    const uint8_t *p = data + 3;
    const uint8_t b[8] = { p[0], p[1], p[2], p[3], p[12], p[13], p[14], p[15] };
    reader_hex(b, sizeof(b), chip);
    return 0;
}

static int read_cplc(struct card *c, char chip[static 17])
{
    uint8_t cmd[5] = { 0x80, 0xca, 0x9f, 0x7f, 0x00 };
    uint8_t data[READER_MAX_RSP];
    size_t n;
    uint16_t sw;
    int r = apdu(c, cmd, sizeof(cmd), data, sizeof(data), &n, &sw);
    if (r == 0 && (sw == SW_NO_CLA || sw == SW_NO_INS)) {
        /* Cards that are not GlobalPlatform cards may know GET DATA only in the ISO class. */
        cmd[0] = 0x00;
        r = apdu(c, cmd, sizeof(cmd), data, sizeof(data), &n, &sw);
    }
    if (r < 0)
        return r;
    if (sw == SW_NO_CLA || sw == SW_NO_INS || sw == SW_NO_DATA || sw == SW_NOT_FOUND ||
        sw == SW_BAD_P1P2) {
        chip[0] = '\0'; /* no CPLC on this card */
        return 0;
    }
    if (sw != SW_OK)
        return fail(c, KN_ECARDERR, "GET DATA (CPLC) answered %04X", sw);
    if (reader_parse_cplc(data, n, chip) < 0)
        return fail(c, KN_EBADCARD, "the card's CPLC is malformed (%zu bytes)", n);
    return 0;
}

/* SELECT a file by its path from the MF (3F00 first, or relative to it). */
static int select_path(struct card *c, const uint8_t *path, size_t len)
{
    uint8_t cmd[5 + MAX_PATH_BYTES + 1], fcp[READER_MAX_RSP];
    size_t n;
    uint16_t sw = 0;
    if (len >= 2 && path[0] == 0x3f && path[1] == 0x00 && len > 2) {
        path += 2;
        len -= 2;
    }
    if (len == 0 || len % 2 || len > MAX_PATH_BYTES)
        return fail(c, KN_EBADCARD, "a file path of %zu bytes on the card", len);
    for (int p2 = 0x0c; p2 >= 0; p2 -= 0x08) {
        bool mf = len == 2 && path[0] == 0x3f && path[1] == 0x00;
        size_t cl = 0;
        cmd[cl++] = 0x00;
        cmd[cl++] = 0xa4;
        cmd[cl++] = mf ? 0x00 : 0x08;
        cmd[cl++] = (uint8_t)p2;
        cmd[cl++] = (uint8_t)len;
        memcpy(cmd + cl, path, len);
        cl += len;
        if (p2 != 0x0c)
            cmd[cl++] = 0x00;
        int r = apdu(c, cmd, cl, fcp, sizeof(fcp), &n, &sw);
        if (r < 0)
            return r;
        if (sw == SW_OK)
            return 0;
        if (sw == SW_NOT_FOUND)
            return KN_ENOTFOUND;
        if (sw != SW_BAD_P1P2) /* a card that wants the FCP back (P2 04) says 6A86 */
            break;
    }
    return fail(c, KN_ECARDERR, "SELECT answered %04X", sw);
}

/*
 * READ BINARY of the selected file into buf: the whole element when whole is set (its size known
 * from the DER header), else up to the file's end or max bytes.
 */
static int read_file(struct card *c, uint8_t *buf, size_t max, bool whole, size_t *len)
{
    size_t off = 0, want = max;
    for (;;) {
        size_t ask = want - off < MAX_CHUNK ? want - off : MAX_CHUNK, n;
        uint8_t cmd[5] = { 0x00, 0xb0, (uint8_t)(off >> 8), (uint8_t)off, (uint8_t)ask };
        uint16_t sw;
        if (ask == 0)
            break;
        if (off > 0x7fff)
            return fail(c, KN_EBADCARD, "a file larger than READ BINARY can address");
        int r = apdu(c, cmd, sizeof(cmd), buf + off, max - off, &n, &sw);
        if (r < 0)
            return r;
        if (sw == SW_BAD_OFFSET && off > 0)
            break;
        if (sw != SW_OK && sw != SW_EOF)
            return fail(c, KN_ECARDERR, "READ BINARY answered %04X", sw);
        off += n;
        if (whole && want == max && off >= 4) {
            long total = der_header(buf, off);
            if (total == KN_ETOOBIG || (total > 0 && (size_t)total > max))
                return fail(c, KN_EBADCARD, "a file on the card is larger than %zu bytes", max);
            if (total < 0 && total != KN_EAGAIN)
                return fail(c, KN_EBADCARD, "a file on the card is not DER");
            if (total > 0)
                want = (size_t)total;
        }
        if (sw == SW_EOF || n < ask || n == 0)
            break;
    }
    if (whole && off != want)
        return fail(c, KN_EBADCARD, "a file on the card ends after %zu of %zu bytes", off, want);
    *len = off;
    return 0;
}

/* A PKCS#15 Path ::= SEQUENCE { path OCTET STRING, ... }, made absolute from the application. */
static int path_of(struct card *c, struct der *d, const uint8_t *app, size_t app_len, uint8_t *out,
                   size_t *out_len)
{
    struct der seq;
    struct der_tlv p;
    if (der_enter(d, DER_SEQUENCE, &seq) < 0 || der_next(&seq, &p) != 1 || p.tag != DER_OCTET ||
        p.len == 0 || p.len % 2 || p.len > MAX_PATH_BYTES)
        return fail(c, KN_EBADCARD, "a malformed file path in the card's directory");
    if (p.v[0] == 0x3f && p.v[1] == 0x00) {
        memcpy(out, p.v, p.len);
        *out_len = p.len;
    } else {
        if (app_len + p.len > MAX_PATH_BYTES)
            return fail(c, KN_EBADCARD, "a file path too long in the card's directory");
        memcpy(out, app, app_len);
        memcpy(out + app_len, p.v, p.len);
        *out_len = app_len + p.len;
    }
    return 0;
}

/* Files end in padding (00 or FF) on many cards: the content stops at the first such byte. */
static size_t unpadded(const uint8_t *buf, size_t n)
{
    struct der d;
    struct der_tlv t;
    size_t used = 0;
    der_init(&d, buf, n);
    while (d.n && d.p[0] != 0x00 && d.p[0] != 0xff && der_next(&d, &t) == 1)
        used += t.raw_len;
    return used;
}

/* The application's path from EF.DIR: the template (61) whose AID (4F) is PKCS#15's. */
static int app_path(struct card *c, uint8_t *path, size_t *path_len)
{
    static const uint8_t efdir[] = { 0x3f, 0x00, 0x2f, 0x00 };
    uint8_t buf[DIR_MAX];
    size_t n;
    int r = select_path(c, efdir, sizeof(efdir));
    if (r == KN_ENOTFOUND) {
        /* No EF.DIR: PKCS#15 names 3F00 5015 as the application's default place. */
        static const uint8_t dflt[] = { 0x3f, 0x00, 0x50, 0x15 };
        if ((r = select_path(c, dflt, sizeof(dflt))) < 0)
            return r; /* KN_ENOTFOUND: no PKCS#15 application */
        memcpy(path, dflt, sizeof(dflt));
        *path_len = sizeof(dflt);
        return 0;
    }
    if (r < 0 || (r = read_file(c, buf, sizeof(buf), false, &n)) < 0)
        return r;
    size_t used = unpadded(buf, n);
    if (used != n && buf[used] != 0x00 && buf[used] != 0xff)
        return fail(c, KN_EBADCARD, "the card's EF.DIR is not DER");
    struct der d, tpl;
    struct der_tlv t;
    der_init(&d, buf, used);
    while (d.n) {
        const uint8_t *aid = NULL, *p = NULL;
        size_t aid_len = 0, p_len = 0;
        if (der_enter(&d, 0x61, &tpl) < 0)
            return fail(c, KN_EBADCARD, "the card's EF.DIR holds something else than templates");
        while ((r = der_next(&tpl, &t)) == 1) {
            if (t.tag == 0x4f)
                aid = t.v, aid_len = t.len;
            else if (t.tag == 0x51)
                p = t.v, p_len = t.len;
        }
        if (r < 0)
            return fail(c, KN_EBADCARD, "a malformed template in the card's EF.DIR");
        if (aid && aid_len == sizeof(pkcs15_aid) && !memcmp(aid, pkcs15_aid, aid_len)) {
            if (!p || p_len < 2 || p_len % 2 || p_len > MAX_PATH_BYTES)
                return fail(c, KN_EBADCARD, "the PKCS#15 application in EF.DIR has no path");
            memcpy(path, p, p_len);
            *path_len = p_len;
            if (path[0] != 0x3f || path[1] != 0x00)
                return fail(c, KN_EBADCARD, "the PKCS#15 application's path is not absolute");
            return 0;
        }
    }
    return KN_ENOTFOUND;
}

/* The first certificate object's path from the certificate directory files the ODF lists. */
static int cert_path(struct card *c, const uint8_t *app, size_t app_len, uint8_t *path,
                     size_t *path_len)
{
    uint8_t p[MAX_PATH_BYTES], buf[DIR_MAX];
    size_t plen, n;
    int r;
    if (app_len + 2 > MAX_PATH_BYTES)
        return fail(c, KN_EBADCARD, "the application's path is too long");
    memcpy(p, app, app_len);
    p[app_len] = 0x50; /* ODF: 5031 in the application */
    p[app_len + 1] = 0x31;
    if ((r = select_path(c, p, app_len + 2)) < 0)
        return r == KN_ENOTFOUND ? fail(c, KN_EBADCARD, "the card has no PKCS#15 ODF") : r;
    if ((r = read_file(c, buf, sizeof(buf), false, &n)) < 0)
        return r;
    struct der odf, inner;
    struct der_tlv t;
    size_t used = unpadded(buf, n);
    if (used == 0 || (used != n && buf[used] != 0x00 && buf[used] != 0xff))
        return fail(c, KN_EBADCARD, "the card's ODF is not DER");
    der_init(&odf, buf, used);
    plen = 0;
    while (der_next(&odf, &t) == 1) {
        if (t.tag != 0xa4) /* [4] certificates; private keys, data objects and others follow */
            continue;
        der_init(&inner, t.v, t.len);
        if ((r = path_of(c, &inner, app, app_len, p, &plen)) < 0)
            return r;
        break;
    }
    if (plen == 0)
        return KN_ENOTFOUND;
    if ((r = select_path(c, p, plen)) < 0)
        return r == KN_ENOTFOUND ? fail(c, KN_EBADCARD, "the card's CDF is missing") : r;
    if ((r = read_file(c, buf, sizeof(buf), false, &n)) < 0)
        return r;
    used = unpadded(buf, n);
    if (used == 0 || (used != n && buf[used] != 0x00 && buf[used] != 0xff))
        return fail(c, KN_EBADCARD, "the card's certificate directory is not DER");
    /* CertificateType: x509Certificate is a SEQUENCE { common attributes, class attributes
     * (iD), [0] subclass (optional), [1] { X509CertificateAttributes { value Path, ... } } }. */
    struct der cdf, obj, typed, attrs;
    der_init(&cdf, buf, used);
    while (der_next(&cdf, &t) == 1) {
        if (t.tag != DER_SEQUENCE)
            continue;
        der_init(&obj, t.v, t.len);
        struct der_tlv part;
        while ((r = der_next(&obj, &part)) == 1 && part.tag != 0xa1)
            ;
        if (r != 1)
            return fail(c, KN_EBADCARD, "a certificate object without its attributes");
        der_init(&typed, part.v, part.len);
        if (der_enter(&typed, DER_SEQUENCE, &attrs) < 0)
            return fail(c, KN_EBADCARD, "malformed certificate attributes on the card");
        return path_of(c, &attrs, app, app_len, path, path_len);
    }
    if (cdf.n)
        return fail(c, KN_EBADCARD, "the card's certificate directory is not DER");
    return KN_ENOTFOUND;
}

static int read_holder(struct card *c, struct reader_identity *id)
{
    uint8_t app[MAX_PATH_BYTES], path[MAX_PATH_BYTES], cert[DER_MAX_LEN];
    size_t app_len = 0, path_len = 0, n;
    int r = app_path(c, app, &app_len);
    if (r == 0)
        r = cert_path(c, app, app_len, path, &path_len);
    if (r == KN_ENOTFOUND)
        return 0; /* no PKCS#15 application or no certificate: no holder identity */
    if (r < 0)
        return r;
    if ((r = select_path(c, path, path_len)) < 0)
        return r == KN_ENOTFOUND ? fail(c, KN_EBADCARD, "the card's certificate file is missing")
                                 : r;
    if ((r = read_file(c, cert, sizeof(cert), true, &n)) < 0)
        return r;
    r = der_cert_subject_serial(cert, n, id->hsa_id, sizeof(id->hsa_id), id->cert_serial);
    if (r == KN_ENOTFOUND)
        return fail(c, KN_EBADCARD, "the card's certificate has no subject serialNumber (HSA-id)");
    if (r < 0)
        return fail(c, KN_EBADCARD, "the card's certificate is malformed");
    return 0;
}

int reader_identify(const struct reader_impl *impl, struct reader_identity *id, char *why,
                    size_t why_size)
{
    struct card c = { impl, why, why_size };
    if (why_size)
        why[0] = '\0';
    id->chip[0] = id->hsa_id[0] = id->cert_serial[0] = '\0';
    int r = read_cplc(&c, id->chip);
    if (r == 0)
        r = read_holder(&c, id);
    if (r < 0) {
        id->chip[0] = id->hsa_id[0] = id->cert_serial[0] = '\0';
        if (why_size && !why[0])
            snprintf(why, why_size, "%s", kn_strerror(r));
    }
    return r;
}
