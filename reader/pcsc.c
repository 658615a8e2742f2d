/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int reader__pcsc_err(LONG rv)
{
    switch (rv) {
    case SCARD_S_SUCCESS:
        return 0;
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
    case SCARD_F_COMM_ERROR:
        return KN_ENOPCSCD;
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
        return KN_ENOREADER;
    case SCARD_E_NO_SMARTCARD:
        return KN_ENOCARD;
    case SCARD_W_REMOVED_CARD:
    case SCARD_W_RESET_CARD:
        return KN_ECARDGONE;
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNSUPPORTED_CARD:
    case SCARD_E_PROTO_MISMATCH:
        return KN_ECARDERR;
    case SCARD_E_NO_MEMORY:
        return KN_ENOMEM;
    default:
        return KN_EPCSC;
    }
}

int64_t reader__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int reader__list(SCARDCONTEXT ctx, struct reader_list *out)
{
    char buf[READER_MAX_READERS * READER_MAX_NAME];
    DWORD len = sizeof(buf);
    memset(out, 0, sizeof(*out));
    int r = reader__pcsc_err(SCardListReaders(ctx, NULL, buf, &len));
    if (r == KN_ENOREADER)
        return 0;
    if (r < 0)
        return r;
    if (len > sizeof(buf))
        return KN_EPCSC;
    /* A multi-string: names separated by NUL, ended by an empty name. */
    for (const char *p = buf; p < buf + len && *p && out->count < READER_MAX_READERS;
         p += strnlen(p, (size_t)(buf + len - p)) + 1) {
        size_t n = strnlen(p, READER_MAX_NAME - 1);
        memcpy(out->names[out->count], p, n);
        out->names[out->count++][n] = '\0';
    }
    return 0;
}

int reader_list_get(struct reader_list *out)
{
    SCARDCONTEXT ctx = 0;
    memset(out, 0, sizeof(*out));
    int r = reader__pcsc_err(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
    if (r < 0)
        return r;
    r = reader__list(ctx, out);
    SCardReleaseContext(ctx);
    return r;
}

struct pcsc_card {
    SCARDHANDLE h;
    DWORD proto;
};

#define GONE_CHECKS 24 /* pcscd notices a removal at its next poll: about 400 ms with vpcd */

/*
 * After a transmit that failed or brought back nothing: was the card pulled? pcscd learns it at
 * its next look at the reader, so ask for a while before calling it a broken card.
 */
static bool card_gone(struct pcsc_card *c)
{
    for (int i = 0; i < GONE_CHECKS; i++) {
        uint8_t atr[MAX_ATR_SIZE];
        DWORD atr_len = sizeof(atr), state = 0, proto, name_len = 0;
        LONG rv = SCardStatus(c->h, NULL, &name_len, &state, &proto, atr, &atr_len);
        if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_W_RESET_CARD || rv == SCARD_E_NO_SMARTCARD ||
            rv == SCARD_E_READER_UNAVAILABLE || (rv == SCARD_S_SUCCESS && (state & SCARD_ABSENT)))
            return true;
        if (rv != SCARD_S_SUCCESS)
            return false;
        struct timespec pause = { 0, 50 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    return false;
}

static int pcsc_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
                         size_t *rsp_len)
{
    struct pcsc_card *c = ctx;
    DWORD n = (DWORD)*rsp_len;
    LONG rv = SCardTransmit(c->h, c->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1, cmd,
                            (DWORD)cmd_len, NULL, rsp, &n);
    int r = reader__pcsc_err(rv);
    if (r == KN_ENOCARD || r == KN_ENOREADER || r == KN_ENOPCSCD)
        r = KN_ECARDGONE; /* it was there when the read began */
    if ((r < 0 && r != KN_ECARDGONE) || (r == 0 && n < 2))
        r = card_gone(c) ? KN_ECARDGONE : r;
    if (r < 0)
        return r;
    *rsp_len = n;
    return 0;
}

int reader__identify_in(SCARDCONTEXT ctx, const char *reader, struct reader_identity *id, char *why,
                        size_t why_size)
{
    struct pcsc_card c = { 0, 0 };
    struct reader_impl impl = { pcsc_transmit, &c };
    uint8_t atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof(atr), state, proto, name_len = 0;
    memset(id, 0, sizeof(*id));
    int r = reader__pcsc_err(SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
                                          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c.h, &c.proto));
    if (r < 0) {
        snprintf(why, why_size, "%s",
                 r == KN_ECARDERR ? "the card does not answer (mute)" : kn_strerror(r));
        return r;
    }
    /* A transaction keeps another program (a second kortnod, a browser) from talking to the card
     * in the middle of the read. */
    if ((r = reader__pcsc_err(SCardBeginTransaction(c.h))) < 0) {
        snprintf(why, why_size, "%s", kn_strerror(r));
        goto out;
    }
    r = reader__pcsc_err(SCardStatus(c.h, NULL, &name_len, &state, &proto, atr, &atr_len));
    if (r == 0 && (atr_len == 0 || atr_len > READER_MAX_ATR))
        r = KN_EBADCARD;
    if (r < 0) {
        snprintf(why, why_size, "reading the card's ATR: %s", kn_strerror(r));
    } else {
        reader_hex(atr, atr_len, id->atr);
        r = reader_identify(&impl, id, why, why_size);
    }
    SCardEndTransaction(c.h, SCARD_LEAVE_CARD);
out:
    SCardDisconnect(c.h, SCARD_LEAVE_CARD);
    return r;
}

int reader_read(const char *reader, struct reader_identity *id, char reader_out[READER_MAX_NAME],
                char *why, size_t why_size)
{
    SCARDCONTEXT ctx = 0;
    struct reader_list l;
    SCARD_READERSTATE st[READER_MAX_READERS];
    const char *use = NULL;
    memset(id, 0, sizeof(*id));
    reader_out[0] = '\0';
    int r = reader__pcsc_err(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
    if (r < 0) {
        snprintf(why, why_size, "%s", kn_strerror(r));
        return r;
    }
    if ((r = reader__list(ctx, &l)) < 0) {
        snprintf(why, why_size, "listing the readers: %s", kn_strerror(r));
        goto out;
    }
    memset(st, 0, sizeof(st));
    for (size_t i = 0; i < l.count; i++) {
        st[i].szReader = l.names[i];
        st[i].dwCurrentState = SCARD_STATE_UNAWARE;
    }
    if (l.count && (r = reader__pcsc_err(SCardGetStatusChange(ctx, 0, st, (DWORD)l.count))) < 0) {
        snprintf(why, why_size, "asking the readers' state: %s", kn_strerror(r));
        goto out;
    }
    size_t with_card = 0;
    for (size_t i = 0; i < l.count; i++) {
        bool here = st[i].dwEventState & SCARD_STATE_PRESENT;
        if (reader && !strcmp(reader, l.names[i]))
            use = here ? l.names[i] : "";
        if (!reader && here && with_card++ == 0)
            use = l.names[i];
    }
    if (reader && !use) {
        r = KN_ENOREADER;
        snprintf(why, why_size, "no reader named '%s' (kortnod reader list)", reader);
    } else if (!reader && with_card > 1) {
        r = KN_EINVAL;
        snprintf(why, why_size, "cards are in %zu readers: name the one to read", with_card);
    } else if (!reader && !use) {
        r = l.count ? KN_ENOCARD : KN_ENOREADER;
        snprintf(why, why_size, "%s", l.count ? "no card in any reader" : kn_strerror(r));
    } else if (!*use) {
        r = KN_ENOCARD;
        snprintf(why, why_size, "no card in reader '%s'", reader);
    } else {
        snprintf(reader_out, READER_MAX_NAME, "%s", use);
        r = reader__identify_in(ctx, use, id, why, why_size);
    }
out:
    SCardReleaseContext(ctx);
    return r;
}
