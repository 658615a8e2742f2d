/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kn.h"

const char *kn_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define KN_ERROR_MSG_(name, msg) \
    case KN_E##name:             \
        return msg;
        KN_ERRORS(KN_ERROR_MSG_)
#undef KN_ERROR_MSG_
    default:
        break;
    }
    if (err < 0 && err > -1000)
        return strerror(-err);
    return "unknown error";
}

const char *kn_errname(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define KN_ERROR_NAME_(name, msg) \
    case KN_E##name:              \
        return "KN_E" #name;
        KN_ERRORS(KN_ERROR_NAME_)
#undef KN_ERROR_NAME_
    case -EAGAIN:
        return "EAGAIN";
    case -ENOENT:
        return "ENOENT";
    case -EACCES:
        return "EACCES";
    case -EEXIST:
        return "EEXIST";
    case -ENOSPC:
        return "ENOSPC";
    default:
        return "E?";
    }
}

static void oom(size_t size)
{
    fprintf(stderr, "kortnod: out of memory (allocating %zu bytes)\n", size);
    abort();
}

void *kn_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *kn_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *kn_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

char *kn_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = kn_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
