/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double bench_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

void bench_identity(struct store_identity *id, uint8_t seed_byte)
{
    uint8_t seed[32];
    if (sodium_init() < 0)
        abort();
    memset(seed, seed_byte, sizeof(seed));
    id->sk = sodium_malloc(STORE_SECRET_LEN);
    if (!id->sk)
        abort();
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

void bench_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4400];
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

const char *bench_fs_name(const char *dir)
{
    struct statfs sf;
    if (statfs(dir, &sf) != 0)
        return "unknown";
    switch ((unsigned long)sf.f_type) {
    case 0x01021994UL:
        return "tmpfs (fsync costs nothing here: durable-write figures mean little)";
    case 0xEF53UL:
        return "ext4";
    case 0x9123683EUL:
        return "btrfs";
    case 0x58465342UL:
        return "xfs";
    case 0x794c7630UL:
        return "overlayfs";
    default:
        return "other";
    }
}
