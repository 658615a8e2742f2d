/* SPDX-License-Identifier: MIT */
/* The node's key file: created 0600, refused when others may read it or when damaged. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static char dir[64];
static char key[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/kn-id-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof(key), "%s/node.key", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(key);
    rmdir(dir);
    return 0;
}

static void test_create_and_load(void **state)
{
    (void)state;
    struct store_identity a, b;
    struct stat st;

    umask(022);
    assert_int_equal(store_identity_create(key, &a), 0);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, STORE_SECRET_LEN);
    assert_int_equal(store_identity_load(key, &b), 0);
    assert_memory_equal(a.pk, b.pk, STORE_KEY_LEN);
    assert_memory_equal(a.sk, b.sk, STORE_SECRET_LEN);
    /* never overwritten */
    struct store_identity c;
    assert_int_equal(store_identity_create(key, &c), -EEXIST);
    assert_null(c.sk);
    store_identity_finish(&a);
    store_identity_finish(&b);
    store_identity_finish(&b); /* twice is harmless */
    assert_null(b.sk);
}

static void test_permissions(void **state)
{
    (void)state;
    struct store_identity id;
    static const mode_t bad[] = { 0640, 0604, 0660, 0644, 0610, 0601, 0620, 0602 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(key, bad[i]), 0);
        assert_int_equal(store_identity_load(key, &id), KN_EKEYPERM);
        assert_null(id.sk);
    }
    assert_int_equal(chmod(key, 0400), 0);
    assert_int_equal(store_identity_load(key, &id), 0);
    store_identity_finish(&id);
    assert_int_equal(chmod(key, 0600), 0);
}

static void write_key(const void *bytes, size_t n)
{
    int fd = open(key, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

static void test_damaged(void **state)
{
    (void)state;
    struct store_identity id;
    uint8_t orig[STORE_SECRET_LEN], buf[STORE_SECRET_LEN + 1];
    int fd = open(key, O_RDONLY);
    assert_int_equal(read(fd, orig, sizeof(orig)), STORE_SECRET_LEN);
    close(fd);

    write_key(orig, STORE_SECRET_LEN - 1);
    assert_int_equal(store_identity_load(key, &id), KN_EKEYFILE);
    memcpy(buf, orig, STORE_SECRET_LEN);
    buf[STORE_SECRET_LEN] = 0;
    write_key(buf, STORE_SECRET_LEN + 1);
    assert_int_equal(store_identity_load(key, &id), KN_EKEYFILE);
    /* a public half that the seed does not give */
    memcpy(buf, orig, STORE_SECRET_LEN);
    buf[40] ^= 1;
    write_key(buf, STORE_SECRET_LEN);
    assert_int_equal(store_identity_load(key, &id), KN_EKEYFILE);
    write_key(orig, STORE_SECRET_LEN);
    assert_int_equal(store_identity_load(key, &id), 0);
    store_identity_finish(&id);
}

static void test_not_a_file(void **state)
{
    (void)state;
    struct store_identity id;
    char link[128];
    snprintf(link, sizeof(link), "%s/link.key", dir);
    assert_int_equal(symlink(key, link), 0);
    assert_int_equal(store_identity_load(link, &id), -ELOOP);
    unlink(link);
    assert_int_equal(store_identity_load(dir, &id), KN_EKEYFILE);
    char none[128];
    snprintf(none, sizeof(none), "%s/none.key", dir);
    assert_int_equal(store_identity_load(none, &id), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_load),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_not_a_file),
    };
    return cmocka_run_group_tests_name("identity", tests, setup, teardown);
}
