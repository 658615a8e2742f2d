/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "node.h"

bool node_role_valid(const char *role)
{
    return role && (!strcmp(role, "hub") || !strcmp(role, "office") || !strcmp(role, "mobile"));
}

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = kn_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static struct node *node_new(const char *dir)
{
    struct node *n = kn_xcalloc(1, sizeof(*n));
    n->dir = kn_xstrdup(dir);
    n->key_path = join(dir, NODE_KEY_FILE);
    n->db_path = join(dir, NODE_DB_FILE);
    return n;
}

/* Create dir and any missing parents; the last component gets mode 0700. */
static int make_dirs(const char *dir)
{
    char *p = kn_xstrdup(dir);
    int r = 0;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            r = -errno;
        *s = '/';
        if (r < 0)
            break;
    }
    if (r == 0 && mkdir(p, 0700) < 0 && errno != EEXIST)
        r = -errno;
    free(p);
    return r;
}

int node_init(const char *dir, const char *role, const char *name, const char *hub,
              const char *netkey_from, struct node **out)
{
    struct node *n = node_new(dir);
    uint8_t hub_key[STORE_KEY_LEN];
    char hub_hex[STORE_ID_HEX_LEN + 1];
    int r;

    *out = NULL;
    if (!node_role_valid(role) || (hub && store_unhex(hub, hub_key, STORE_KEY_LEN) < 0)) {
        r = KN_EINVAL;
        goto out;
    }
    if ((r = make_dirs(dir)) < 0)
        goto out;
    if (access(n->key_path, F_OK) == 0) {
        r = -EEXIST;
        goto out;
    }
    /* The network key first: when it is refused, nothing of the node is left behind. */
    if ((netkey_from || !strcmp(role, "hub")) && (r = node_netkey_create(n, netkey_from)) < 0)
        goto out;
    if ((r = store_identity_create(n->key_path, &n->id)) < 0)
        goto out;
    if ((r = store_open(n->db_path, STORE_SYNC_NORMAL, &n->store)) < 0)
        goto out;
    store_set_identity(n->store, &n->id);
    if ((r = store_meta_set(n->store, "role", role)) < 0 ||
        (r = store_meta_set(n->store, "name", name ? name : "")) < 0)
        goto out;
    /* The hub is the root of trust; a hub is its own. */
    if (hub || !strcmp(role, "hub")) {
        store_hex(hub ? hub_key : n->id.pk, STORE_KEY_LEN, hub_hex);
        if ((r = store_meta_set(n->store, "hub", hub_hex)) < 0)
            goto out;
    }
    snprintf(n->role, sizeof(n->role), "%s", role);
    snprintf(n->name, sizeof(n->name), "%s", name ? name : "");
    *out = n;
    n = NULL;
out:
    node_close(n);
    return r;
}

int node_open(const char *dir, struct node **out)
{
    struct node *n = node_new(dir);
    int r;

    *out = NULL;
    if (access(n->key_path, F_OK) < 0) {
        r = KN_ENOTINIT;
        goto out;
    }
    if ((r = store_identity_load(n->key_path, &n->id)) < 0)
        goto out;
    if (access(n->db_path, F_OK) < 0) {
        r = KN_ENOTINIT;
        goto out;
    }
    if ((r = store_open(n->db_path, STORE_SYNC_NORMAL, &n->store)) < 0)
        goto out;
    store_set_identity(n->store, &n->id);
    if (store_meta_get(n->store, "role", n->role, sizeof(n->role)) < 0)
        snprintf(n->role, sizeof(n->role), "?");
    if (store_meta_get(n->store, "name", n->name, sizeof(n->name)) < 0)
        n->name[0] = '\0';
    *out = n;
    n = NULL;
out:
    node_close(n);
    return r;
}

void node_close(struct node *n)
{
    if (!n)
        return;
    store_close(n->store);
    store_identity_finish(&n->id);
    free(n->dir);
    free(n->key_path);
    free(n->db_path);
    free(n);
}

void node_short_id(const uint8_t key[STORE_KEY_LEN], char out[9])
{
    char hex[STORE_ID_HEX_LEN + 1];
    store_hex(key, STORE_KEY_LEN, hex);
    memcpy(out, hex, 8);
    out[8] = '\0';
}

void node_format_time(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[24];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 32, "@%llu", (unsigned long long)ms);
        return;
    }
    snprintf(out, 32, "%s.%03uZ", buf, (unsigned)(ms % 1000));
}

uint64_t node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node_netkey_create(struct node *n, const char *from)
{
    uint8_t key[32];
    char *path = join(n->dir, NODE_NETKEY_FILE);
    int fd = -1, r = 0;

    if (from) {
        char text[80];
        FILE *f = fopen(from, "rb");
        size_t got = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        if (!f) {
            r = -errno;
            goto out;
        }
        fclose(f);
        text[got] = '\0';
        /* 32 bytes are the key itself, whatever they are; else 64 hex digits and a newline. */
        if (got == 32) {
            memcpy(key, text, 32);
        } else {
            while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == ' '))
                text[--got] = '\0';
            if (got != 64 || store_unhex(text, key, 32) < 0) {
                r = KN_EKEYFILE;
                goto out;
            }
        }
    } else {
        randombytes_buf(key, sizeof(key));
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0 || write(fd, key, 32) != 32 || fsync(fd) < 0) {
        r = errno ? -errno : KN_EIO;
        if (fd >= 0)
            unlink(path);
    }
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(key, sizeof(key));
    free(path);
    return r;
}

int node_netkey_load(struct node *n, uint8_t key[static 32])
{
    char *path = join(n->dir, NODE_NETKEY_FILE);
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
    free(path);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        r = KN_EKEYPERM;
    else if (st.st_size != 32 || read(fd, key, 32) != 32)
        r = KN_EKEYFILE;
    close(fd);
    return r;
}
