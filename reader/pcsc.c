/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include <PCSC/winscard.h>

#include "reader.h"

static int pcsc_err(LONG rv)
{
    switch (rv) {
    case SCARD_S_SUCCESS:
        return 0;
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
        return KN_ENOPCSCD;
    case SCARD_E_NO_READERS_AVAILABLE:
        return KN_ENOREADER;
    case SCARD_E_NO_MEMORY:
        return KN_ENOMEM;
    default:
        return KN_EPCSC;
    }
}

int reader_list_get(struct reader_list *out)
{
    SCARDCONTEXT ctx = 0;
    char buf[READER_MAX_READERS * READER_MAX_NAME];
    DWORD len = sizeof(buf);
    int r;

    memset(out, 0, sizeof(*out));
    r = pcsc_err(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
    if (r < 0)
        return r;
    r = pcsc_err(SCardListReaders(ctx, NULL, buf, &len));
    if (r == KN_ENOREADER) {
        r = 0;
        goto out;
    }
    if (r < 0)
        goto out;
    /* A multi-string: names separated by NUL, ended by an empty name. */
    for (const char *p = buf; p < buf + len && *p && out->count < READER_MAX_READERS;
         p += strlen(p) + 1) {
        size_t n = strnlen(p, READER_MAX_NAME - 1);
        memcpy(out->names[out->count], p, n);
        out->names[out->count++][n] = '\0';
    }
out:
    SCardReleaseContext(ctx);
    return r;
}
