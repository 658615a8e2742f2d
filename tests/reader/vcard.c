// SPDX-License-Identifier: MIT
//
// vcard: a virtual SITHS-like smart card for the reader tests, plugged into the real pcscd
// through vsmartcard's virtual reader driver (vpcd, libifdvpcd.so).
//
//   vcard --port N --cert FILE.der [--atr HEX] [--cplc HEX | --no-cplc]
//
// The vpcd driver listens on a TCP port per reader; the card is the client. Every message, both
// ways, is a 2-byte big-endian length and that many bytes. A 1-byte message from vpcd is a
// control: 0 power off, 1 power on, 2 reset (none of them answered), 4 "send the ATR" (answered
// with a message holding the ATR; pcscd asks for it about every 400 ms to see that the card is
// still there). Any longer message is a command APDU, answered with the response APDU. The card
// is in the reader while the connection is up: connecting inserts it, closing removes it.
//
// Commands come one a line on standard input (the tests write them into a FIFO), and every event
// is one line on standard output, flushed at once:
//   insert              connect to 127.0.0.1:PORT, retrying every 50 ms for 10 s -> "inserted"
//   remove              close the connection -> "removed"
//   quit                (end of input too)
//   cert FILE | cplc HEX|none | atr HEX      present another card from now on -> "ok ..."
//   mode normal | error SSSS | stall MS | cut N | truncate N | cla00 | garbage    -> "ok ..."
//     error SSSS   every command APDU answered with the status word SSSS alone
//     stall MS     every answer sent MS ms late (vpcd has no timeout: SCardTransmit waits)
//     cut N        N more command APDUs answered, then the next one gets no answer: the
//                  connection is closed instead (card pulled mid-read; "apdu CMD -> (card
//                  pulled)", "removed"; SCardTransmit fails with SCARD_E_NOT_TRANSACTED), and
//                  the mode is normal again
//     truncate N   a response with data keeps its first N bytes of data, with 9000
//     cla00        GET DATA with CLA 80 answered 6E00 (class not supported); CLA 00 works
//     garbage      a response with data is replaced by 3 pseudo-random bytes and 9000
// Other lines printed: "ready" once started, "apdu CMD -> RESPONSE" per answered command APDU,
// "power on", "power off", "reset", "closed by vpcd" (vpcd dropped the connection, e.g. pcscd
// stopped; "removed" follows) and "error ..." for anything wrong.
//
// The card: GET DATA CPLC (80|00 CA 9F 7F), and a PKCS#15 file system: MF 3F00 with EF.DIR 2F00
// and DF 5015 (the PKCS#15 application) holding the ODF 5031, TokenInfo 5032, the CDF 4404 and
// the certificate EF 4331 with the DER certificate of --cert. SELECT by FID, by path and by DF
// name, READ BINARY, and the status words a real card gives for what it does not do.

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE // TCP_QUICKACK
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_RETRY_MS   50
#define CONNECT_TIMEOUT_MS 10000
#define MAX_LINE           8192
#define MAX_ATR            33
#define CPLC_LEN           42
#define MAX_FILE           65535

// ---- byte buffers ----

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("error out of memory\n", stdout);
        exit(1);
    }
    return q;
}

static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_put(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_byte(struct buf *b, uint8_t v)
{
    buf_put(b, &v, 1);
}

static void buf_free(struct buf *b)
{
    free(b->p);
    *b = (struct buf){ 0 };
}

// buf_tlv - append a DER TLV: a 1-byte tag, the length in the shortest form, the value.
static void buf_tlv(struct buf *b, uint8_t tag, const void *v, size_t n)
{
    buf_byte(b, tag);
    if (n < 0x80) {
        buf_byte(b, (uint8_t)n);
    } else if (n <= 0xFF) {
        buf_byte(b, 0x81);
        buf_byte(b, (uint8_t)n);
    } else {
        buf_byte(b, 0x82);
        buf_byte(b, (uint8_t)(n >> 8));
        buf_byte(b, (uint8_t)n);
    }
    buf_put(b, v, n);
}

// buf_wrap - replace the contents of b by one TLV holding them.
static void buf_wrap(struct buf *b, uint8_t tag)
{
    struct buf w = { 0 };
    buf_tlv(&w, tag, b->p, b->len);
    buf_free(b);
    *b = w;
}

// ---- output ----

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void put_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02X", p[i]);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// parse_hex - hex digits, spaces and colons between bytes allowed, into out (at most max bytes).
// Returns the byte count, or -1 when the text is not whole bytes of hex or too long.
static long parse_hex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\t' || *s == ':') {
            s++;
            continue;
        }
        int hi = hexval((unsigned char)s[0]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
        if (hi < 0 || lo < 0 || n == max)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return (long)n;
}

static bool parse_num(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// ---- the card ----

// A correct T=1 ATR (TD1 80: T=0 and TD2 follows; TD2 01: T=1; TCK 68), with the historical
// bytes of the PC/SC part 3 example.
static const uint8_t default_atr[] = { 0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00,
                                       0x03, 0x06, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x68 };

// GlobalPlatform CPLC, 42 bytes, field by field.
static const uint8_t default_cplc[CPLC_LEN] = {
    0x47, 0x90,             // IC fabricator
    0x51, 0x67,             // IC type
    0x47, 0x91,             // operating system identifier
    0x51, 0x12,             // operating system release date
    0x01, 0x00,             // operating system release level
    0x51, 0x05,             // IC fabrication date
    0x12, 0x34, 0x56, 0x78, // IC serial number
    0x0A, 0x0B,             // IC batch identifier
    0x48, 0x12,             // IC module fabricator
    0x51, 0x10,             // IC module packaging date
    0x00, 0x00,             // ICC manufacturer
    0x51, 0x15,             // IC embedding date
    0x00, 0x01,             // IC pre-personaliser
    0x51, 0x20,             // IC pre-perso equipment date
    0x00, 0x00, 0x00, 0x01, // IC pre-perso equipment identifier
    0x00, 0x02,             // IC personaliser
    0x51, 0x25,             // IC personalisation date
    0x00, 0x00, 0x00, 0x02, // IC perso equipment identifier
};

static const uint8_t pkcs15_aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
                                      0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };

enum { F_MF, F_DIR, F_P15, F_ODF, F_TOKENINFO, F_CDF, F_CERT, F_COUNT };

static const struct file_def {
    uint16_t fid;
    int parent; // -1 for the MF
    bool df;
    const uint8_t *name; // DF name (AID), or NULL
    size_t name_len;
} files[F_COUNT] = {
    [F_MF] = { 0x3F00, -1, true, NULL, 0 },
    [F_DIR] = { 0x2F00, F_MF, false, NULL, 0 },
    [F_P15] = { 0x5015, F_MF, true, pkcs15_aid, sizeof pkcs15_aid },
    [F_ODF] = { 0x5031, F_P15, false, NULL, 0 },
    [F_TOKENINFO] = { 0x5032, F_P15, false, NULL, 0 },
    [F_CDF] = { 0x4404, F_P15, false, NULL, 0 },
    [F_CERT] = { 0x4331, F_P15, false, NULL, 0 },
};

static struct card {
    uint8_t atr[MAX_ATR];
    size_t atr_len;
    uint8_t cplc[CPLC_LEN];
    bool has_cplc;
    struct buf cert;
    struct buf content[F_COUNT]; // the EFs' bytes (empty for DFs)
    int cur_df, cur_ef;          // file indexes; cur_ef -1 when no EF is selected
} card;

// card_build - the EFs' contents, from the certificate and the CPLC.
static void card_build(void)
{
    for (int i = 0; i < F_COUNT; i++)
        buf_free(&card.content[i]);

    struct buf *b = &card.content[F_DIR];
    buf_tlv(b, 0x4F, pkcs15_aid, sizeof pkcs15_aid);
    buf_tlv(b, 0x50, "SITHS", 5);
    buf_tlv(b, 0x51, (const uint8_t[]){ 0x3F, 0x00, 0x50, 0x15 }, 4);
    buf_wrap(b, 0x61);

    b = &card.content[F_ODF];
    buf_tlv(b, 0x04, (const uint8_t[]){ 0x3F, 0x00, 0x50, 0x15, 0x44, 0x04 }, 6);
    buf_wrap(b, 0x30);
    buf_wrap(b, 0xA4);

    b = &card.content[F_TOKENINFO];
    static const uint8_t no_serial[4] = { 0, 0, 0, 1 };
    buf_tlv(b, 0x02, (const uint8_t[]){ 0 }, 1);
    buf_tlv(b, 0x04, card.has_cplc ? card.cplc + 12 : no_serial, 4);
    buf_tlv(b, 0x0C, "kortnod test", 12);
    buf_wrap(b, 0x30);

    b = &card.content[F_CDF];
    struct buf common = { 0 }, class = { 0 }, attrs = { 0 };
    buf_tlv(&common, 0x0C, "Autentisering", 13);
    buf_wrap(&common, 0x30);
    buf_tlv(&class, 0x04, (const uint8_t[]){ 0x45 }, 1);
    buf_wrap(&class, 0x30);
    buf_tlv(&attrs, 0x04, (const uint8_t[]){ 0x3F, 0x00, 0x50, 0x15, 0x43, 0x31 }, 6);
    buf_wrap(&attrs, 0x30); // Path
    buf_wrap(&attrs, 0x30); // X509CertificateAttributes
    buf_wrap(&attrs, 0xA1); // typeAttributes
    buf_put(b, common.p, common.len);
    buf_put(b, class.p, class.len);
    buf_put(b, attrs.p, attrs.len);
    buf_wrap(b, 0x30);
    buf_free(&common);
    buf_free(&class);
    buf_free(&attrs);

    buf_put(&card.content[F_CERT], card.cert.p, card.cert.len);
}

static void card_reset(void)
{
    card.cur_df = F_MF;
    card.cur_ef = -1;
}

// load_cert - read the certificate file; on failure the card keeps its old one and *why says
// what was wrong.
static bool load_cert(const char *path, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return false;
    }
    struct buf b = { 0 };
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_FILE)
        buf_put(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad || b.len == 0 || b.len > MAX_FILE || b.p[0] != 0x30) {
        *why = bad                ? "read error"
               : b.len == 0       ? "empty file"
               : b.len > MAX_FILE ? "larger than 65535 bytes"
                                  : "not DER (does not start with 30)";
        buf_free(&b);
        return false;
    }
    buf_free(&card.cert);
    card.cert = b;
    return true;
}

// ---- APDUs ----

struct apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    bool has_le;
    size_t le; // 1..65536 when has_le
};

// parse_apdu - the ISO 7816-4 cases 1, 2, 3 and 4, short and extended; false when malformed.
static bool parse_apdu(const uint8_t *p, size_t n, struct apdu *a)
{
    *a = (struct apdu){ p[0], p[1], p[2], p[3], NULL, 0, false, 0 };
    if (n == 4)
        return true;
    size_t body = n - 4;
    const uint8_t *q = p + 4;
    if (body == 1) { // case 2 short
        a->has_le = true;
        a->le = q[0] ? q[0] : 256;
        return true;
    }
    if (q[0] != 0) { // case 3 or 4 short
        a->lc = q[0];
        a->data = q + 1;
        if (body == 1 + a->lc)
            return true;
        if (body == 2 + a->lc) {
            a->has_le = true;
            a->le = q[body - 1] ? q[body - 1] : 256;
            return true;
        }
        return false;
    }
    if (body == 3) { // case 2 extended
        a->has_le = true;
        a->le = (size_t)(q[1] << 8 | q[2]);
        if (!a->le)
            a->le = 65536;
        return true;
    }
    if (body < 3)
        return false;
    a->lc = (size_t)(q[1] << 8 | q[2]);
    a->data = q + 3;
    if (a->lc == 0)
        return false;
    if (body == 3 + a->lc)
        return true;
    if (body == 5 + a->lc) {
        const uint8_t *l = q + 3 + a->lc;
        a->has_le = true;
        a->le = (size_t)(l[0] << 8 | l[1]);
        if (!a->le)
            a->le = 65536;
        return true;
    }
    return false;
}

static void sw(struct buf *r, unsigned s)
{
    buf_byte(r, (uint8_t)(s >> 8));
    buf_byte(r, (uint8_t)s);
}

static int find_child(int df, unsigned fid)
{
    for (int i = 0; i < F_COUNT; i++)
        if (files[i].parent == df && files[i].fid == fid)
            return i;
    return -1;
}

// select_fid - by file identifier from the current DF: the MF, the current DF itself, a child of
// it, its parent, or a child of its parent.
static int select_fid(unsigned fid)
{
    int df = card.cur_df, up = files[df].parent, f;
    if (fid == 0x3F00)
        return F_MF;
    if (fid == files[df].fid)
        return df;
    if ((f = find_child(df, fid)) >= 0)
        return f;
    if (up >= 0 && fid == files[up].fid)
        return up;
    if (up >= 0 && (f = find_child(up, fid)) >= 0)
        return f;
    return -1;
}

// select_path - a path of FIDs from the DF start (a leading 3F00 starts from the MF).
static int select_path(int start, const uint8_t *p, size_t n)
{
    int at = start;
    for (size_t i = 0; i < n; i += 2) {
        unsigned fid = (unsigned)(p[i] << 8 | p[i + 1]);
        if (i == 0 && fid == 0x3F00) {
            at = F_MF;
            continue;
        }
        if (!files[at].df || (at = find_child(at, fid)) < 0)
            return -1;
    }
    return at;
}

static void do_select(const struct apdu *a, struct buf *r)
{
    if (a->p2 != 0x00 && a->p2 != 0x04 && a->p2 != 0x0C) {
        sw(r, 0x6A86);
        return;
    }
    int f = -1;
    switch (a->p1) {
    case 0x00:
        if (a->lc == 0)
            f = F_MF;
        else if (a->lc == 2)
            f = select_fid((unsigned)(a->data[0] << 8 | a->data[1]));
        else {
            sw(r, 0x6700);
            return;
        }
        break;
    case 0x04:
        if (a->lc == 0) {
            f = F_MF;
            break;
        }
        for (int i = 0; i < F_COUNT; i++)
            if (files[i].name && files[i].name_len == a->lc &&
                !memcmp(files[i].name, a->data, a->lc))
                f = i;
        break;
    case 0x08:
    case 0x09:
        if (a->lc == 0 || a->lc % 2) {
            sw(r, 0x6700);
            return;
        }
        f = select_path(a->p1 == 0x08 ? F_MF : card.cur_df, a->data, a->lc);
        break;
    default:
        sw(r, 0x6A86);
        return;
    }
    if (f < 0) {
        sw(r, 0x6A82);
        return;
    }
    if (files[f].df) {
        card.cur_df = f;
        card.cur_ef = -1;
    } else {
        card.cur_df = files[f].parent;
        card.cur_ef = f;
    }
    if (a->p2 != 0x0C) {
        size_t size = card.content[f].len;
        uint8_t fcp[] = { 0x80,
                          0x02,
                          (uint8_t)(size >> 8),
                          (uint8_t)size,
                          0x82,
                          0x01,
                          files[f].df ? 0x38 : 0x01,
                          0x83,
                          0x02,
                          (uint8_t)(files[f].fid >> 8),
                          (uint8_t)files[f].fid };
        buf_tlv(r, 0x62, fcp, sizeof fcp);
    }
    sw(r, 0x9000);
}

static void do_read_binary(const struct apdu *a, struct buf *r)
{
    if (a->lc || !a->has_le) {
        sw(r, 0x6700);
        return;
    }
    if (a->p1 & 0x80) { // short EF identifier: not supported
        sw(r, 0x6A86);
        return;
    }
    if (card.cur_ef < 0) {
        sw(r, 0x6986);
        return;
    }
    const struct buf *f = &card.content[card.cur_ef];
    size_t off = (size_t)(a->p1 << 8 | a->p2);
    if (off > f->len) {
        sw(r, 0x6B00);
        return;
    }
    size_t n = f->len - off < a->le ? f->len - off : a->le;
    buf_put(r, f->p + off, n);
    sw(r, n < a->le ? 0x6282 : 0x9000);
}

static void do_get_data(const struct apdu *a, struct buf *r, bool cla00_only)
{
    if (cla00_only && a->cla == 0x80) {
        sw(r, 0x6E00);
        return;
    }
    if (a->lc) {
        sw(r, 0x6700);
        return;
    }
    if (a->p1 != 0x9F || a->p2 != 0x7F || !card.has_cplc) {
        sw(r, 0x6A88);
        return;
    }
    if (!a->has_le || (a->le != 256 && a->le != 65536 && a->le != 3 + CPLC_LEN)) {
        sw(r, 0x6C00 | (3 + CPLC_LEN));
        return;
    }
    buf_put(r, (const uint8_t[]){ 0x9F, 0x7F, CPLC_LEN }, 3);
    buf_put(r, card.cplc, CPLC_LEN);
    sw(r, 0x9000);
}

// card_apdu - the card's own answer to a command APDU (before any test mode changes it).
static void card_apdu(const uint8_t *p, size_t n, struct buf *r, bool cla00_only)
{
    struct apdu a;
    if (n < 4) {
        sw(r, 0x6700);
        return;
    }
    if (p[0] != 0x00 && p[0] != 0x80) {
        sw(r, 0x6E00);
        return;
    }
    if (p[1] != 0xA4 && p[1] != 0xB0 && p[1] != 0xCA) {
        sw(r, 0x6D00);
        return;
    }
    if (!parse_apdu(p, n, &a)) {
        sw(r, 0x6700);
        return;
    }
    switch (a.ins) {
    case 0xA4:
        do_select(&a, r);
        break;
    case 0xB0:
        do_read_binary(&a, r);
        break;
    default:
        do_get_data(&a, r, cla00_only);
        break;
    }
}

// ---- test modes ----

enum mode_kind { M_NORMAL, M_ERROR, M_STALL, M_CUT, M_TRUNCATE, M_CLA00, M_GARBAGE };

static struct {
    enum mode_kind kind;
    unsigned sw;    // M_ERROR
    long arg;       // M_STALL: ms; M_CUT: APDUs still answered; M_TRUNCATE: data bytes kept
    uint32_t noise; // M_GARBAGE
} mode;

static bool set_mode(const char *arg)
{
    char word[16];
    const char *rest = arg;
    size_t n = strcspn(arg, " ");
    if (n >= sizeof word)
        return false;
    memcpy(word, arg, n);
    word[n] = 0;
    rest = arg + n + strspn(arg + n, " ");
    uint8_t s[2];
    long v;
    if (!strcmp(word, "normal") && !*rest)
        mode.kind = M_NORMAL;
    else if (!strcmp(word, "cla00") && !*rest)
        mode.kind = M_CLA00;
    else if (!strcmp(word, "garbage") && !*rest)
        mode.kind = M_GARBAGE;
    else if (!strcmp(word, "error") && strlen(rest) == 4 && parse_hex(rest, s, 2) == 2) {
        mode.kind = M_ERROR;
        mode.sw = (unsigned)(s[0] << 8 | s[1]);
    } else if (!strcmp(word, "stall") && parse_num(rest, 600000, &v)) {
        mode.kind = M_STALL;
        mode.arg = v;
    } else if (!strcmp(word, "cut") && parse_num(rest, 1000000, &v)) {
        mode.kind = M_CUT;
        mode.arg = v;
    } else if (!strcmp(word, "truncate") && parse_num(rest, 65535, &v)) {
        mode.kind = M_TRUNCATE;
        mode.arg = v;
    } else
        return false;
    return true;
}

// answer - the response to send for a command APDU under the current mode.
static void answer(const uint8_t *p, size_t n, struct buf *r)
{
    if (mode.kind == M_ERROR) {
        sw(r, mode.sw);
        return;
    }
    card_apdu(p, n, r, mode.kind == M_CLA00);
    if (r->len <= 2)
        return;
    if (mode.kind == M_TRUNCATE) {
        if ((size_t)mode.arg < r->len - 2)
            r->len = (size_t)mode.arg;
        else
            r->len -= 2;
        sw(r, 0x9000);
    } else if (mode.kind == M_GARBAGE) {
        r->len = 0;
        for (int i = 0; i < 3; i++) {
            mode.noise = mode.noise * 1103515245u + 12345u;
            buf_byte(r, (uint8_t)(mode.noise >> 16));
        }
        sw(r, 0x9000);
    }
}

// ---- the connection to vpcd ----

static int port;
static int sock = -1;
static struct buf in;           // bytes received from vpcd not handled yet
static bool inserting;          // an insert waits for vpcd to listen
static int64_t insert_deadline; // ... until then
static int64_t next_try;
static bool stalled;         // an answer waits (mode stall)
static int64_t stall_until;  // ... until then
static struct buf stall_cmd; // ... for this command
static struct buf stall_rsp; // ... with this response

static void log_apdu(const uint8_t *c, size_t cn, const uint8_t *r, size_t rn)
{
    fputs("apdu ", stdout);
    put_hex(stdout, c, cn);
    fputs(" -> ", stdout);
    if (r)
        put_hex(stdout, r, rn);
    else
        fputs("(card pulled)", stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void disconnect(const char *why)
{
    if (sock >= 0)
        close(sock);
    sock = -1;
    in.len = 0;
    stalled = false;
    if (why)
        say("%s", why);
    say("removed");
}

static bool send_frame(const uint8_t *p, size_t n)
{
    struct buf f = { 0 };
    buf_byte(&f, (uint8_t)(n >> 8));
    buf_byte(&f, (uint8_t)n);
    buf_put(&f, p, n);
    size_t off = 0;
    while (off < f.len) {
        ssize_t w = send(sock, f.p + off, f.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            say("error send to vpcd: %s", strerror(errno));
            buf_free(&f);
            disconnect(NULL);
            return false;
        }
        off += (size_t)w;
    }
    buf_free(&f);
    return true;
}

static void try_connect(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        say("error socket: %s", strerror(errno));
        inserting = false;
        return;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        sock = s;
        inserting = false;
        in.len = 0;
        card_reset();
        say("inserted");
        return;
    }
    int err = errno;
    close(s);
    if (now_ms() >= insert_deadline) {
        inserting = false;
        say("error insert: cannot connect to 127.0.0.1:%d within %d ms: %s", port,
            CONNECT_TIMEOUT_MS, strerror(err));
        return;
    }
    next_try = now_ms() + CONNECT_RETRY_MS;
}

// handle_apdu - answer one command APDU; false when the answer waits or the card is gone.
static bool handle_apdu(const uint8_t *p, size_t n)
{
    if (mode.kind == M_CUT) {
        if (mode.arg == 0) {
            log_apdu(p, n, NULL, 0);
            mode.kind = M_NORMAL;
            disconnect(NULL);
            return false;
        }
        mode.arg--;
    }
    struct buf r = { 0 };
    answer(p, n, &r);
    if (mode.kind == M_STALL && mode.arg > 0) {
        stalled = true;
        stall_until = now_ms() + mode.arg;
        stall_cmd.len = 0;
        buf_put(&stall_cmd, p, n);
        buf_free(&stall_rsp);
        stall_rsp = r;
        return false;
    }
    log_apdu(p, n, r.p, r.len);
    bool sent = send_frame(r.p, r.len);
    buf_free(&r);
    return sent;
}

// handle_frames - every complete message from vpcd, in order, until one must wait.
static void handle_frames(void)
{
    size_t off = 0;
    while (sock >= 0 && !stalled && in.len - off >= 2) {
        size_t n = (size_t)(in.p[off] << 8 | in.p[off + 1]);
        if (in.len - off - 2 < n)
            break;
        const uint8_t *p = in.p + off + 2;
        off += 2 + n;
        if (n == 0) {
            say("error empty message from vpcd");
        } else if (n == 1) {
            switch (p[0]) {
            case 0:
                card_reset();
                say("power off");
                break;
            case 1:
                card_reset();
                say("power on");
                break;
            case 2:
                card_reset();
                say("reset");
                break;
            case 4:
                send_frame(card.atr, card.atr_len);
                break;
            default:
                say("error unknown control %u from vpcd", p[0]);
            }
        } else {
            handle_apdu(p, n);
        }
    }
    if (sock < 0)
        return; // disconnect() emptied the buffer
    memmove(in.p, in.p + off, in.len - off);
    in.len -= off;
}

static void read_sock(void)
{
    buf_reserve(&in, 4096);
    ssize_t r = read(sock, in.p + in.len, in.cap - in.len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        disconnect(r == 0 ? "closed by vpcd" : "closed by vpcd (read error)");
        return;
    }
    in.len += (size_t)r;
    // vpcd writes the length and the bytes of a message with two send()s and does not disable
    // Nagle's algorithm: the second waits for our ACK of the first, which delayed ACKs would
    // hold back up to 40 ms per message. Acknowledge at once instead (re-armed after each read).
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    handle_frames();
}

// ---- commands ----

static bool quit;

static void command(char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = 0;
    char *arg = line + strcspn(line, " ");
    if (*arg)
        *arg++ = 0;
    arg += strspn(arg, " ");
    const char *why = NULL;
    uint8_t tmp[MAX_ATR > CPLC_LEN ? MAX_ATR : CPLC_LEN];
    long got;

    if (!*line) {
        return;
    } else if (!strcmp(line, "insert") && !*arg) {
        if (sock >= 0 || inserting) {
            say("error insert: the card is already inserted");
            return;
        }
        inserting = true;
        insert_deadline = now_ms() + CONNECT_TIMEOUT_MS;
        try_connect();
    } else if (!strcmp(line, "remove") && !*arg) {
        if (sock < 0 && !inserting) {
            say("error remove: the card is not inserted");
            return;
        }
        inserting = false;
        disconnect(NULL);
    } else if (!strcmp(line, "quit") && !*arg) {
        quit = true;
    } else if (!strcmp(line, "cert") && *arg) {
        if (!load_cert(arg, &why)) {
            say("error cert %s: %s", arg, why);
            return;
        }
        card_build();
        say("ok cert %s", arg);
    } else if (!strcmp(line, "cplc") && !strcmp(arg, "none")) {
        card.has_cplc = false;
        card_build();
        say("ok cplc none");
    } else if (!strcmp(line, "cplc") && *arg) {
        if (parse_hex(arg, tmp, CPLC_LEN) != CPLC_LEN) {
            say("error cplc: want %d bytes of hex: %s", CPLC_LEN, arg);
            return;
        }
        memcpy(card.cplc, tmp, CPLC_LEN);
        card.has_cplc = true;
        card_build();
        say("ok cplc %s", arg);
    } else if (!strcmp(line, "atr") && *arg) {
        got = parse_hex(arg, tmp, MAX_ATR);
        if (got < 2) {
            say("error atr: want 2 to %d bytes of hex: %s", MAX_ATR, arg);
            return;
        }
        memcpy(card.atr, tmp, (size_t)got);
        card.atr_len = (size_t)got;
        say("ok atr %s", arg);
    } else if (!strcmp(line, "mode") && *arg) {
        if (!set_mode(arg)) {
            say("error mode: want normal, error SSSS, stall MS, cut N, truncate N, cla00 or "
                "garbage: %s",
                arg);
            return;
        }
        say("ok mode %s", arg);
    } else {
        say("error unknown command: %s%s%s", line, *arg ? " " : "", arg);
    }
}

static struct buf lines; // standard input not yet ended by a newline
static bool stdin_eof;

static void read_stdin(void)
{
    buf_reserve(&lines, 4096);
    ssize_t r = read(STDIN_FILENO, lines.p + lines.len, lines.cap - lines.len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        stdin_eof = true;
        return;
    }
    lines.len += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < lines.len && !quit; i++) {
        if (lines.p[i] != '\n')
            continue;
        lines.p[i] = 0;
        command((char *)lines.p + start);
        start = i + 1;
    }
    if (quit)
        return;
    memmove(lines.p, lines.p + start, lines.len - start);
    lines.len -= start;
    if (lines.len > MAX_LINE) {
        say("error input line longer than %d bytes dropped", MAX_LINE);
        lines.len = 0;
    }
}

// ---- main ----

static void usage(void)
{
    fputs("usage: vcard --port N --cert FILE.der [--atr HEX] [--cplc HEX | --no-cplc]\n"
          "commands on stdin, one a line: insert, remove, quit, cert FILE, cplc HEX|none,\n"
          "atr HEX, mode normal|error SSSS|stall MS|cut N|truncate N|cla00|garbage\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *cert = NULL;
    long v;
    memcpy(card.atr, default_atr, sizeof default_atr);
    card.atr_len = sizeof default_atr;
    memcpy(card.cplc, default_cplc, CPLC_LEN);
    card.has_cplc = true;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(o, "--port") && has_val && parse_num(argv[i + 1], 65535, &v) && v > 0) {
            port = (int)v;
            i++;
        } else if (!strcmp(o, "--cert") && has_val) {
            cert = argv[++i];
        } else if (!strcmp(o, "--atr") && has_val) {
            long got = parse_hex(argv[++i], card.atr, MAX_ATR);
            if (got < 2) {
                fprintf(stderr, "vcard: --atr wants 2 to %d bytes of hex\n", MAX_ATR);
                return 2;
            }
            card.atr_len = (size_t)got;
        } else if (!strcmp(o, "--cplc") && has_val) {
            if (parse_hex(argv[++i], card.cplc, CPLC_LEN) != CPLC_LEN) {
                fprintf(stderr, "vcard: --cplc wants exactly %d bytes of hex\n", CPLC_LEN);
                return 2;
            }
            card.has_cplc = true;
        } else if (!strcmp(o, "--no-cplc")) {
            card.has_cplc = false;
        } else {
            usage();
        }
    }
    if (!port || !cert)
        usage();
    const char *why;
    if (!load_cert(cert, &why)) {
        fprintf(stderr, "vcard: --cert %s: %s\n", cert, why);
        return 2;
    }
    card_build();
    card_reset();
    signal(SIGPIPE, SIG_IGN);
    say("ready");

    while (!quit && !stdin_eof) {
        struct pollfd pfd[2] = { { STDIN_FILENO, POLLIN, 0 }, { sock, POLLIN, 0 } };
        int64_t now = now_ms(), wake = -1;
        if (inserting)
            wake = next_try;
        if (stalled && (wake < 0 || stall_until < wake))
            wake = stall_until;
        int timeout = wake < 0 ? -1 : wake <= now ? 0 : (int)(wake - now);
        if (poll(pfd, sock >= 0 ? 2 : 1, timeout) < 0) {
            if (errno == EINTR)
                continue;
            say("error poll: %s", strerror(errno));
            break;
        }
        now = now_ms();
        if (inserting && now >= next_try)
            try_connect();
        if (stalled && now >= stall_until && sock >= 0) {
            stalled = false;
            log_apdu(stall_cmd.p, stall_cmd.len, stall_rsp.p, stall_rsp.len);
            if (send_frame(stall_rsp.p, stall_rsp.len))
                handle_frames();
        }
        if (sock >= 0 && pfd[1].fd == sock && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
            read_sock();
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
            read_stdin();
    }
    if (sock >= 0)
        close(sock);
    for (int i = 0; i < F_COUNT; i++)
        buf_free(&card.content[i]);
    buf_free(&card.cert);
    buf_free(&in);
    buf_free(&lines);
    buf_free(&stall_cmd);
    buf_free(&stall_rsp);
    return 0;
}
