/* SPDX-License-Identifier: MIT */
/* DATA/kortnod.conf: a few `key = value` lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

static char *conf_path(struct node *n)
{
    size_t len = strlen(n->dir) + sizeof(NODE_CONF_FILE) + 2;
    char *p = kn_xmalloc(len);
    snprintf(p, len, "%s/%s", n->dir, NODE_CONF_FILE);
    return p;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* A whole decimal number in [min, max]: 0, or -1. */
static int uint_value(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int node_config_load(struct node *n, struct node_run_opts *o, char **text, char *err,
                     size_t errsize)
{
    char *path = conf_path(n);
    FILE *f = fopen(path, "r");
    size_t cap = 0, len = 0, lineno = 0;
    uint64_t v;
    int r = 0;

    memset(o, 0, sizeof(*o));
    o->listen = "127.0.0.1:7117";
    o->level = NODE_LOG_INFO;
    o->idle_ms = 300000;
    o->reader = -1;
    o->lan = -1;
    o->lan_port = 7118;
    o->forget_ms = 7ull * 86400 * 1000;
    o->ui = "127.0.0.1:7180";
    *text = NULL;
    free(path);
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    /* Keep the whole text: the options point into it. */
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 8192;
            *text = kn_xrealloc(*text, cap);
        }
        size_t got = fread(*text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    (*text)[len] = '\0';
    for (char *line = *text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *eq = strchr(line, '=');
        char *key = trim(line);
        if (!*key)
            continue;
        if (!eq) {
            r = KN_EINVAL;
            break;
        }
        *eq = '\0';
        key = trim(line);
        char *value = trim(eq + 1);
        if (!strcmp(key, "listen")) {
            o->listen = value;
        } else if (!strcmp(key, "reader") && (!strcmp(value, "on") || !strcmp(value, "off"))) {
            o->reader = !strcmp(value, "on");
        } else if (!strcmp(key, "lan") &&
                   (!strcmp(value, "on") || !strcmp(value, "off") || !strcmp(value, "auto"))) {
            o->lan = !strcmp(value, "on") ? 1 : !strcmp(value, "off") ? 0 : -1;
        } else if (!strcmp(key, "lan_port") && uint_value(value, 1, 65535, &v) == 0) {
            o->lan_port = (int)v;
        } else if (!strcmp(key, "announce") && store_hostport_valid(value)) {
            o->announce = value;
        } else if (!strcmp(key, "forget_after") &&
                   uint_value(value, 1, 10ull * 365 * 86400, &v) == 0) {
            o->forget_ms = v * 1000;
        } else if (!strcmp(key, "ui") && (!strcmp(value, "off") || !strncmp(value, "127.", 4) ||
                                          !strncmp(value, "localhost:", 10))) {
            o->ui = value;
        } else if (!strcmp(key, "peer")) {
            char *space = strchr(value, ' ');
            o->peers = kn_xrealloc(o->peers, (o->npeers + 1) * sizeof(*o->peers));
            if (!space || store_unhex(trim(space + 1), o->peers[o->npeers].pk, STORE_KEY_LEN) < 0) {
                r = KN_EINVAL;
                break;
            }
            *space = '\0';
            o->peers[o->npeers++].addr = value;
        } else {
            r = KN_EINVAL;
            break;
        }
    }
    if (r < 0)
        snprintf(err, errsize,
                 "%s/%s line %zu: want `listen = HOST:PORT`, `peer = HOST:PORT NODEID`, "
                 "`reader = on|off`, `lan = on|off|auto`, `lan_port = PORT`, "
                 "`announce = IPV4:PORT`, `forget_after = SECONDS` or `ui = 127.0.0.1:PORT|off`",
                 n->dir, NODE_CONF_FILE, lineno);
    return r;
}

void node_config_free(struct node_run_opts *o, char *text)
{
    free(o->peers);
    free(text);
}

int node_config_add_peer(struct node *n, const char *hostport, const char *node_hex)
{
    char *path = conf_path(n);
    FILE *f = fopen(path, "a");
    free(path);
    if (!f)
        return -errno;
    fprintf(f, "peer = %s %s\n", hostport, node_hex);
    return fclose(f) == 0 ? 0 : -errno;
}
