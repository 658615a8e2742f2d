/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

/* The key file is the 64-byte libsodium secret key (seed, then public key), nothing else. */

static int secret_alloc(struct store_identity *id)
{
    if (sodium_init() < 0)
        return KN_ECRYPTO;
    id->sk = sodium_malloc(STORE_SECRET_LEN);
    if (!id->sk)
        return KN_ENOMEM;
    /* Locking can fail under a low RLIMIT_MEMLOCK; the key is still guarded, so go on. */
    (void)sodium_mlock(id->sk, STORE_SECRET_LEN);
    return 0;
}

int store_identity_create(const char *path, struct store_identity *id)
{
    int fd = -1, r;

    memset(id, 0, sizeof(*id));
    if ((r = secret_alloc(id)) < 0)
        goto out;
    crypto_sign_keypair(id->pk, id->sk);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    errno = 0;
    if (fchmod(fd, 0600) < 0 || write(fd, id->sk, STORE_SECRET_LEN) != STORE_SECRET_LEN ||
        fsync(fd) < 0) {
        r = errno ? -errno : KN_EIO; /* a short write sets no errno */
        unlink(path);
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (r < 0)
        store_identity_finish(id);
    return r;
}

int store_identity_load(const char *path, struct store_identity *id)
{
    struct stat st;
    ssize_t n;
    int fd = -1, r;

    memset(id, 0, sizeof(*id));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = KN_EKEYFILE;
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        r = KN_EKEYPERM;
        goto out;
    }
    if (st.st_size != STORE_SECRET_LEN) {
        r = KN_EKEYFILE;
        goto out;
    }
    if ((r = secret_alloc(id)) < 0)
        goto out;
    n = read(fd, id->sk, STORE_SECRET_LEN);
    if (n != STORE_SECRET_LEN) {
        r = n < 0 ? -errno : KN_EKEYFILE;
        goto out;
    }
    /* The public half must be the one the seed gives, or the file is damaged. */
    uint8_t seed[32], pk[32];
    uint8_t *sk2 = sodium_malloc(STORE_SECRET_LEN);
    if (!sk2) {
        r = KN_ENOMEM;
        goto out;
    }
    crypto_sign_ed25519_sk_to_seed(seed, id->sk);
    crypto_sign_seed_keypair(pk, sk2, seed);
    sodium_memzero(seed, sizeof(seed));
    r = sodium_memcmp(sk2, id->sk, STORE_SECRET_LEN) == 0 ? 0 : KN_EKEYFILE;
    sodium_free(sk2);
    if (r < 0)
        goto out;
    memcpy(id->pk, pk, STORE_KEY_LEN);
out:
    if (fd >= 0)
        close(fd);
    if (r < 0)
        store_identity_finish(id);
    return r;
}

void store_identity_finish(struct store_identity *id)
{
    if (id->sk)
        sodium_free(id->sk); /* wipes before freeing */
    id->sk = NULL;
}
