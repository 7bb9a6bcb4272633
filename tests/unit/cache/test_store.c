/* The snapshot store, through its public interface only: each test gets a fresh mkdtemp directory
 * (the store's directory is <tmp>/cache, so that nothing can be written beside it unnoticed) and
 * an injected clock. Threads never assert: they record what they saw and the test checks it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/store.h"

#define MSG 512

static char tmp[64];
static char dir[128];
static double fake_now = 1000.0;

static double fake_clock(void)
{
    return fake_now;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/ddbfs-cache-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(dir, sizeof dir, "%s/cache", tmp);
    fake_now = 1000.0;
}

static void teardown(void)
{
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown);

static struct cache_store *open_store(uint64_t max_bytes, double ttl_s)
{
    struct cache_opts o = {.dir = dir, .max_bytes = max_bytes, .ttl_s = ttl_s, .clock = fake_clock};
    enum cache_err err = CACHE_EIO;
    char msg[MSG] = "";
    struct cache_store *s = cache_store_open(&o, &err, msg, sizeof msg);
    cr_assert_not_null(s, "cache_store_open: %s: %s", cache_strerror(err), msg);
    cr_assert_eq(err, CACHE_OK);
    return s;
}

/* Makes key's snapshot hold data (which must be new for the key), committed and released. */
static void fill(struct cache_store *s, const char *key, const char *data, size_t len)
{
    int created = -1;
    enum cache_err err;
    char msg[MSG] = "";
    struct cache_entry *e = cache_entry_acquire(s, key, &created, &err);
    cr_assert_not_null(e, "acquire %s: %s", key, cache_strerror(err));
    cr_assert_eq(created, 1, "%s already had a snapshot", key);
    cr_assert_eq(cache_entry_append(e, data, len, msg, sizeof msg), CACHE_OK, "%s", msg);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_OK, "%s", msg);
    cache_entry_release(e);
}

static void fill_str(struct cache_store *s, const char *key, const char *data)
{
    fill(s, key, data, strlen(data));
}

static void fill_n(struct cache_store *s, const char *key, char c, size_t n)
{
    char *data = malloc(n);
    cr_assert_not_null(data);
    memset(data, c, n);
    fill(s, key, data, n);
    free(data);
}

/* The whole snapshot, NUL-terminated; the caller frees it. */
static char *read_all(struct cache_entry *e, uint64_t *size)
{
    uint64_t n = 0;
    char msg[MSG] = "";
    cr_assert_eq(cache_entry_wait(e, 5, &n, NULL, msg, sizeof msg), CACHE_OK, "%s", msg);
    char *buf = calloc(1, n + 1);
    cr_assert_not_null(buf);
    uint64_t off = 0;
    while (off < n) {
        ssize_t r = cache_entry_read(e, buf + off, 7, off); /* small reads: offsets matter */
        cr_assert_gt(r, 0, "read at %llu: errno %d", (unsigned long long)off, errno);
        off += (uint64_t)r;
    }
    cr_assert_eq(cache_entry_read(e, buf, 7, n), 0, "a read at the end returns 0");
    if (size)
        *size = n;
    return buf;
}

/* Acquires key, which must have a snapshot, and checks its content. */
static void expect_content(struct cache_store *s, const char *key, const char *want)
{
    int created = -1;
    enum cache_err err;
    struct cache_entry *e = cache_entry_acquire(s, key, &created, &err);
    cr_assert_not_null(e, "acquire %s: %s", key, cache_strerror(err));
    cr_assert_eq(created, 0, "%s has no snapshot", key);
    char *got = read_all(e, NULL);
    cr_assert_str_eq(got, want, "content of %s", key);
    free(got);
    cache_entry_release(e);
}

static int present(struct cache_store *s, const char *key)
{
    struct cache_entry *e = cache_entry_peek(s, key);
    cache_entry_release(e);
    return e != NULL;
}

static int file_exists(const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void write_file(const char *name, const char *data, time_t mtime)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: errno %d", path, errno);
    fputs(data, f);
    fclose(f);
    if (mtime) {
        struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
        cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    }
}

/* Bytes of the snapshot files in the directory (all but .lock). */
static uint64_t bytes_on_disk(int *nfiles)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    uint64_t total = 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".lock"))
            continue;
        struct stat st;
        cr_assert_eq(fstatat(dirfd(d), de->d_name, &st, 0), 0);
        total += (uint64_t)st.st_size;
        n++;
    }
    closedir(d);
    if (nfiles)
        *nfiles = n;
    return total;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: errno %d", path, errno);
    return st.st_mode & 07777;
}

Test(store, a_committed_snapshot_reads_back_its_exact_bytes_size_and_mtime)
{
    fake_now = 1000.5;
    struct cache_store *s = open_store(0, 0);
    const char *key = "orders/0001-of-0004.json";
    int created = -1;
    enum cache_err err;
    char msg[MSG] = "";
    struct cache_entry *e = cache_entry_acquire(s, key, &created, &err);
    cr_assert_not_null(e);
    cr_assert_eq(created, 1);
    cr_assert_eq(cache_entry_append(e, "hello ", 6, msg, sizeof msg), CACHE_OK, "%s", msg);
    cr_assert_eq(cache_entry_append(e, "world\0!", 7, msg, sizeof msg), CACHE_OK, "%s", msg);
    uint64_t size = 0;
    cr_assert_eq(cache_entry_state(e, &size), CACHE_FILLING);
    cr_assert_eq(size, 13);
    char buf[64];
    cr_assert_eq(cache_entry_read(e, buf, sizeof buf, 0), -1, "no reads before the commit");
    cr_assert_eq(cache_entry_fd(e), -1);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_OK, "%s", msg);

    time_t mtime = 0;
    cr_assert_eq(cache_entry_wait(e, 0, &size, &mtime, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(size, 13);
    cr_assert_eq(mtime, 1000);
    cr_assert_eq(cache_entry_read(e, buf, sizeof buf, 0), 13);
    cr_assert_eq(memcmp(buf, "hello world\0!", 13), 0);
    cr_assert_eq(cache_entry_read(e, buf, sizeof buf, 6), 7);
    cr_assert_eq(memcmp(buf, "world\0!", 7), 0);
    cr_assert_eq(cache_entry_read(e, buf, sizeof buf, 13), 0);
    cr_assert_eq(cache_entry_read(e, buf, sizeof buf, 1000), 0);
    int fd = cache_entry_fd(e);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, buf, sizeof buf, 0), 13, "the descriptor reads the same bytes");
    cr_assert_eq(memcmp(buf, "hello world\0!", 13), 0);
    cache_entry_release(e);

    fake_now = 2000;
    e = cache_entry_acquire(s, key, &created, &err);
    cr_assert_not_null(e);
    cr_assert_eq(created, 0, "a complete snapshot is served again");
    cr_assert_eq(cache_entry_wait(e, 0, &size, &mtime, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(size, 13);
    cr_assert_eq(mtime, 1000, "the mtime is the commit's, fixed");
    cache_entry_release(e);

    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/orders%%2F0001-of-0004.json", dir);
    cr_assert_eq(stat(path, &st), 0, "the file is %s", path);
    cr_assert_eq(st.st_size, 13);
    cr_assert_eq(st.st_mtime, 1000);
    cache_store_close(s);
}

struct waiter {
    struct cache_store *s;
    const char *key;
    atomic_int *committed;
    int created;
    int committed_before_wake;
    enum cache_err rc;
    char msg[MSG];
    uint64_t size;
    char *content;
};

static void *wait_for(void *arg)
{
    struct waiter *w = arg;
    enum cache_err err;
    struct cache_entry *e = cache_entry_acquire(w->s, w->key, &w->created, &err);
    if (!e) {
        w->rc = err;
        return NULL;
    }
    w->rc = cache_entry_wait(e, 0, &w->size, NULL, w->msg, sizeof w->msg);
    w->committed_before_wake = atomic_load(w->committed);
    if (w->rc == CACHE_OK) {
        w->content = calloc(1, w->size + 1);
        if (w->content && cache_entry_read(e, w->content, w->size, 0) != (ssize_t)w->size) {
            free(w->content);
            w->content = NULL;
        }
    }
    cache_entry_release(e);
    return NULL;
}

#define WAITERS 4

static void start_waiters(struct waiter *w, pthread_t *t, struct cache_store *s, const char *key,
                          atomic_int *committed)
{
    for (int i = 0; i < WAITERS; i++) {
        w[i] = (struct waiter){.s = s, .key = key, .committed = committed, .created = -1};
        cr_assert_eq(pthread_create(&t[i], NULL, wait_for, &w[i]), 0);
    }
    /* Let them acquire and block. */
    usleep(50000);
}

Test(store, waiters_block_until_the_commit_and_get_the_exact_size)
{
    struct cache_store *s = open_store(0, 0);
    atomic_int committed = 0;
    int created;
    enum cache_err err;
    char msg[MSG];
    struct cache_entry *e = cache_entry_acquire(s, "t/0", &created, &err);
    cr_assert_eq(created, 1);

    struct waiter w[WAITERS];
    pthread_t t[WAITERS];
    start_waiters(w, t, s, "t/0", &committed);
    static const char *pages[] = {"{\"id\":1}\n", "{\"id\":2}\n", "{\"id\":3}\n"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cache_entry_append(e, pages[i], strlen(pages[i]), msg, sizeof msg), CACHE_OK);
        usleep(20000);
    }
    atomic_store(&committed, 1);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_OK, "%s", msg);
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].created, 0, "waiter %d joined the fill", i);
        cr_assert_eq(w[i].rc, CACHE_OK, "waiter %d: %s", i, w[i].msg);
        cr_assert(w[i].committed_before_wake, "waiter %d woke before the commit", i);
        cr_assert_eq(w[i].size, 27);
        cr_assert_str_eq(w[i].content, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
        free(w[i].content);
    }
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, a_failed_snapshot_gives_every_waiter_the_fillers_code_and_message)
{
    struct cache_store *s = open_store(0, 0);
    atomic_int committed = 0;
    int created;
    enum cache_err err;
    char msg[MSG];
    struct cache_entry *e = cache_entry_acquire(s, "t/0", &created, &err);
    cr_assert_eq(created, 1);
    struct waiter w[WAITERS];
    pthread_t t[WAITERS];
    start_waiters(w, t, s, "t/0", &committed);
    cr_assert_eq(cache_entry_append(e, "partial", 7, msg, sizeof msg), CACHE_OK);
    const char *why = "scan of t failed: ProvisionedThroughputExceededException";
    cache_entry_fail(e, CACHE_EFAILED, why);
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].rc, CACHE_EFAILED, "waiter %d got %s", i, cache_strerror(w[i].rc));
        cr_assert_str_eq(w[i].msg, why);
        cr_assert_null(w[i].content);
    }
    cr_assert_eq(cache_entry_read(e, msg, sizeof msg, 0), -1, "a failed snapshot is never read");
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_ESTATE);
    cache_entry_release(e);

    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.bytes, 0, "the failed bytes are dropped");
    cr_assert_eq(st.entries, 0);
    cr_assert(!file_exists("t%2F0.part"));
    e = cache_entry_acquire(s, "t/0", &created, &err);
    cr_assert_eq(created, 1, "the next acquire starts over");
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, the_directory_is_0700_and_its_files_0600_even_under_umask_0)
{
    mode_t old = umask(0);
    cr_assert_eq(mkdir(dir, 0755), 0);
    struct cache_store *s = open_store(0, 0);
    cr_assert_eq(mode_of(dir), 0700, "an existing directory is chmod'ed 0700");
    int created;
    enum cache_err err;
    char msg[MSG], path[512];
    struct cache_entry *e = cache_entry_acquire(s, "k", &created, &err);
    snprintf(path, sizeof path, "%s/k.part", dir);
    cr_assert_eq(mode_of(path), 0600);
    cr_assert_eq(cache_entry_append(e, "x", 1, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_OK);
    snprintf(path, sizeof path, "%s/k", dir);
    cr_assert_eq(mode_of(path), 0600);
    snprintf(path, sizeof path, "%s/.lock", dir);
    cr_assert_eq(mode_of(path), 0600);
    cache_entry_release(e);
    cache_store_close(s);

    snprintf(dir, sizeof dir, "%s/new/nested", tmp);
    s = open_store(0, 0);
    cr_assert_eq(mode_of(dir), 0700, "a new directory is made 0700");
    cache_store_close(s);
    umask(old);
}

Test(store, keys_with_slashes_dots_spaces_and_non_ascii_stay_inside_the_directory)
{
    char long_key[1001];
    memset(long_key, 'L', 1000);
    long_key[0] = '/';
    long_key[1000] = '\0';
    const char *keys[] = {"a/b",   "..",         ".",   "../../etc/passwd",
                          "/abs",  "a/../..",    "x",   "x.part",
                          ".lock", "with space", "%2F", "na\xc3\xafve/\xe6\x97\xa5\xe6\x9c\xac",
                          "-",     long_key};
    const int n = sizeof keys / sizeof *keys;
    struct cache_store *s = open_store(0, 0);
    char content[64];
    for (int i = 0; i < n; i++) {
        snprintf(content, sizeof content, "content of key %d", i);
        fill_str(s, keys[i], content);
    }
    for (int i = 0; i < n; i++) {
        snprintf(content, sizeof content, "content of key %d", i);
        expect_content(s, keys[i], content);
    }

    int nfiles = 0;
    bytes_on_disk(&nfiles);
    cr_assert_eq(nfiles, n, "one file per key, all in the directory");
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        cr_assert(strcmp(name, ".lock") == 0 || name[0] != '.', "hidden name %s", name);
        cr_assert_eq(de->d_type, DT_REG, "%s is not a regular file", name);
        cr_assert_lt(strlen(name), 250, "name too long");
        cr_assert_eq(
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%~"),
            strlen(name), "unsafe name %s", name);
    }
    closedir(d);
    d = opendir(tmp);
    int beside = 0;
    while ((de = readdir(d)))
        beside +=
            strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "cache");
    closedir(d);
    cr_assert_eq(beside, 0, "nothing written beside the directory");
    cr_assert(file_exists("a%2Fb"));
    cr_assert(file_exists("%2E."), "no name is \"..\"");
    cr_assert(file_exists("%2E"), "no name is \".\"");
    cr_assert(file_exists("x%2Epart"), "a key ending in .part is not a partial file");

    int created = -1;
    enum cache_err err = CACHE_OK;
    cr_assert_null(cache_entry_acquire(s, "", &created, &err));
    cr_assert_eq(err, CACHE_EINVAL, "an empty key is rejected");
    cache_store_close(s);

    /* A later run serves them all again, except the one too long for a file name. */
    s = open_store(0, 0);
    for (int i = 0; i < n - 1; i++) {
        snprintf(content, sizeof content, "content of key %d", i);
        expect_content(s, keys[i], content);
    }
    struct cache_entry *e = cache_entry_acquire(s, long_key, &created, &err);
    cr_assert_eq(created, 1);
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, partial_files_from_a_crash_are_removed_at_open_and_complete_ones_are_served)
{
    fake_now = 5000;
    struct cache_store *s = open_store(0, 0);
    fill_str(s, "t/1", "abc");
    cache_store_close(s);
    /* What a crash leaves: partial files (one beside a complete snapshot), a complete snapshot
     * written by an earlier run, and a file that is not ours. */
    write_file("t%2F1.part", "half of a newer one", 0);
    write_file("t%2F2.part", "half", 0);
    write_file("t%2F3", "earlier run", 4000);
    write_file("notes.txt~", "not ours", 0);

    fake_now = 6000;
    s = open_store(0, 0);
    cr_assert(!file_exists("t%2F1.part"));
    cr_assert(!file_exists("t%2F2.part"));
    cr_assert(file_exists("notes.txt~"), "files that are not ours are left alone");
    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.entries, 2);
    cr_assert_eq(st.bytes, 3 + 11);

    int created = -1;
    enum cache_err err;
    uint64_t size;
    time_t mtime;
    char msg[MSG];
    struct cache_entry *e = cache_entry_acquire(s, "t/1", &created, &err);
    cr_assert_eq(created, 0);
    cr_assert_eq(cache_entry_wait(e, 0, &size, &mtime, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(size, 3);
    cr_assert_eq(mtime, 5000, "the mtime is the file's");
    cache_entry_release(e);
    expect_content(s, "t/1", "abc");
    expect_content(s, "t/3", "earlier run");
    e = cache_entry_acquire(s, "t/3", &created, &err);
    cr_assert_eq(cache_entry_wait(e, 0, &size, &mtime, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(mtime, 4000);
    cache_entry_release(e);
    e = cache_entry_acquire(s, "t/2", &created, &err);
    cr_assert_eq(created, 1, "a partial snapshot is never served");
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, lru_eviction_keeps_the_total_under_max_bytes_and_never_evicts_a_held_snapshot)
{
    struct cache_store *s = open_store(300, 0);
    struct cache_stats st;
    fill_n(s, "a", 'a', 100);
    fill_n(s, "b", 'b', 100);
    fill_n(s, "c", 'c', 100);
    int created;
    enum cache_err err;
    struct cache_entry *e = cache_entry_acquire(s, "a", &created, &err);
    cache_entry_release(e); /* a is now the most recently used */
    struct cache_entry *held = cache_entry_acquire(s, "c", &created, &err);
    cr_assert_eq(created, 0);

    fill_n(s, "d", 'd', 100);
    cr_assert(!present(s, "b"), "b was the least recently used");
    cr_assert(present(s, "a") && present(s, "c") && present(s, "d"));
    cache_store_get_stats(s, &st);
    cr_assert_leq(st.bytes, 300);
    cr_assert_eq(st.evictions, 1);

    fill_n(s, "e", 'e', 100); /* c is older than a... */
    cr_assert(present(s, "c"), "...but held");
    cr_assert(!present(s, "a"));
    fill_n(s, "f", 'f', 150); /* needs two: d and e; c is still held */
    cr_assert(present(s, "c"));
    cr_assert(!present(s, "d") && !present(s, "e"));
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.bytes, 250);
    cr_assert_eq(st.evictions, 4);
    char buf[8];
    cr_assert_eq(cache_entry_read(held, buf, 1, 99), 1);
    cr_assert_eq(buf[0], 'c');
    cache_entry_release(held);
    uint64_t on_disk = bytes_on_disk(NULL);
    cr_assert_eq(on_disk, 250, "the evicted files are gone from the disk");
    cache_store_close(s);
}

Test(store, a_snapshot_bigger_than_max_bytes_fails_with_enospc_naming_cache_size)
{
    struct cache_store *s = open_store(1000, 0);
    fill_n(s, "small", 's', 300);
    int created;
    enum cache_err err;
    char msg[MSG] = "", page[1001];
    memset(page, 'x', sizeof page);
    struct cache_entry *e = cache_entry_acquire(s, "big", &created, &err);
    cr_assert_eq(cache_entry_append(e, page, 600, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(cache_entry_append(e, page, 600, msg, sizeof msg), CACHE_ENOSPC);
    cr_assert_not_null(strstr(msg, "cache_size"), "message: %s", msg);
    cr_assert_not_null(strstr(msg, "1000"), "message: %s", msg);
    cr_assert_not_null(strstr(msg, "big"), "message: %s", msg);
    cr_assert(present(s, "small"), "nothing is evicted for an append that cannot fit anyway");

    char fmsg[MSG];
    cr_assert_eq(cache_entry_commit(e, fmsg, sizeof fmsg), CACHE_ESTATE, "never served truncated");
    struct cache_entry *w = cache_entry_acquire(s, "big", &created, &err);
    cr_assert_eq(created, 0);
    cache_entry_fail(e, CACHE_ENOSPC, msg);
    cr_assert_eq(cache_entry_wait(w, 0, NULL, NULL, fmsg, sizeof fmsg), CACHE_ENOSPC);
    cr_assert_str_eq(fmsg, msg);
    cache_entry_release(w);
    cache_entry_release(e);

    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.bytes, 300);
    cr_assert_eq(bytes_on_disk(NULL), 300);
    e = cache_entry_acquire(s, "big", &created, &err);
    cr_assert_eq(created, 1);
    cr_assert_eq(cache_entry_append(e, page, 1001, msg, sizeof msg), CACHE_ENOSPC,
                 "one page bigger than the whole cache");
    cr_assert_not_null(strstr(msg, "cache_size"), "message: %s", msg);
    cache_entry_fail(e, CACHE_ENOSPC, msg);
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, a_snapshot_unused_for_ttl_seconds_is_stale_and_the_next_acquire_refills_it)
{
    struct cache_store *s = open_store(0, 10);
    fake_now = 100;
    fill_str(s, "k", "v1");
    int created;
    enum cache_err err;
    fake_now = 105;
    struct cache_entry *e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(created, 0);
    cache_entry_release(e);
    fake_now = 114.9; /* 9.9 s after the last use */
    e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(created, 0, "a use restarts the ttl");
    cache_entry_release(e);
    fake_now = 124.9;
    cr_assert(!present(s, "k"), "peek does not serve a stale snapshot");
    e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(created, 1);
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, a_holder_keeps_reading_the_old_bytes_after_invalidate_and_refill)
{
    struct cache_store *s = open_store(0, 0);
    fill_str(s, "t/k", "old bytes v1");
    int created;
    enum cache_err err;
    struct cache_entry *old = cache_entry_acquire(s, "t/k", &created, &err);
    cr_assert_eq(created, 0);
    cr_assert_eq(cache_store_invalidate(s, "t/"), 1);
    fill_str(s, "t/k", "new bytes, version 2");

    uint64_t size;
    char *got = read_all(old, &size);
    cr_assert_eq(size, 12);
    cr_assert_str_eq(got, "old bytes v1");
    free(got);
    char buf[64] = "";
    cr_assert_eq(pread(cache_entry_fd(old), buf, sizeof buf, 0), 12);
    cr_assert_str_eq(buf, "old bytes v1");
    expect_content(s, "t/k", "new bytes, version 2");
    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.bytes, 12 + 20, "the old bytes are on the disk until released");
    cache_entry_release(old);
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.bytes, 20);
    cache_store_close(s);

    s = open_store(0, 0);
    expect_content(s, "t/k", "new bytes, version 2"); /* releasing the old one kept the new file */
    cache_store_close(s);
}

Test(store, a_holder_keeps_reading_the_old_bytes_after_a_ttl_refresh)
{
    struct cache_store *s = open_store(0, 10);
    fill_str(s, "k", "first");
    int created;
    enum cache_err err;
    struct cache_entry *old = cache_entry_acquire(s, "k", &created, &err);
    fake_now += 60;
    struct cache_entry *e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(created, 1, "stale although held: the new acquirer gets a new one");
    char msg[MSG];
    cr_assert_eq(cache_entry_append(e, "second!", 7, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_OK);
    cache_entry_release(e);
    char *got = read_all(old, NULL);
    cr_assert_str_eq(got, "first");
    free(got);
    cache_entry_release(old);
    expect_content(s, "k", "second!");
    cache_store_close(s);
}

Test(store, a_snapshot_replaced_while_filling_still_completes_for_its_holders)
{
    struct cache_store *s = open_store(0, 0);
    int created;
    enum cache_err err;
    char msg[MSG];
    struct cache_entry *e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(cache_entry_append(e, "one", 3, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(cache_store_invalidate(s, "k"), 1);
    cr_assert(!file_exists("k.part"));
    struct cache_entry *e2 = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(created, 1, "the replacement is filled anew");
    cr_assert_eq(cache_entry_append(e, "two", 3, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_OK, "%s", msg);
    char *got = read_all(e, NULL);
    cr_assert_str_eq(got, "onetwo");
    free(got);
    cr_assert(!file_exists("k"), "a replaced snapshot does not take the name");
    cache_entry_release(e);
    cr_assert_eq(cache_entry_append(e2, "new", 3, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(cache_entry_commit(e2, msg, sizeof msg), CACHE_OK, "%s", msg);
    cache_entry_release(e2);
    expect_content(s, "k", "new");
    cache_store_close(s);
}

Test(store, invalidate_by_prefix_affects_only_matching_keys)
{
    struct cache_store *s = open_store(0, 0);
    fill_str(s, "orders/1", "o1");
    fill_str(s, "orders/2", "o2");
    fill_str(s, "orders2/1", "p1");
    fill_str(s, "users/1", "u1");
    cr_assert_eq(cache_store_invalidate(s, "orders/"), 2);
    cr_assert(!present(s, "orders/1") && !present(s, "orders/2"));
    cr_assert(present(s, "orders2/1") && present(s, "users/1"));
    cr_assert(!file_exists("orders%2F1") && !file_exists("orders%2F2"));
    cr_assert(file_exists("orders2%2F1"));
    cr_assert_eq(cache_store_invalidate(s, "nothing"), 0);
    cr_assert_eq(cache_store_invalidate(s, ""), 2, "the empty prefix matches all");
    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.entries, 0);
    cr_assert_eq(st.bytes, 0);
    cache_store_close(s);
}

Test(store, stats_count_hits_misses_and_evictions)
{
    struct cache_store *s = open_store(200, 0);
    fill_n(s, "a", 'a', 100);
    fill_n(s, "b", 'b', 100);
    int created;
    enum cache_err err;
    struct cache_entry *e = cache_entry_acquire(s, "a", &created, &err);
    cache_entry_release(e);
    e = cache_entry_peek(s, "b"); /* not a use */
    cache_entry_release(e);
    fill_n(s, "c", 'c', 100);
    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.misses, 3);
    cr_assert_eq(st.evictions, 1);
    cr_assert_eq(st.entries, 2);
    cr_assert_eq(st.bytes, 200);
    cr_assert_eq(st.max_bytes, 200);
    cr_assert(present(s, "a") && !present(s, "b"));
    cache_store_close(s);
}

Test(store, a_wait_with_a_timeout_gives_up_while_the_snapshot_fills)
{
    struct cache_store *s = open_store(0, 0);
    int created;
    enum cache_err err;
    char msg[MSG] = "";
    struct cache_entry *e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(cache_entry_wait(e, 0.05, NULL, NULL, msg, sizeof msg), CACHE_ESTATE);
    cr_assert_not_null(strstr(msg, "k"));
    cache_entry_fail(e, CACHE_EFAILED, "gave up");
    cache_entry_release(e);
    cache_store_close(s);
}

Test(store, calls_in_the_wrong_state_are_refused)
{
    struct cache_store *s = open_store(0, 0);
    fill_str(s, "k", "v");
    int created;
    enum cache_err err;
    char msg[MSG];
    struct cache_entry *e = cache_entry_acquire(s, "k", &created, &err);
    cr_assert_eq(cache_entry_append(e, "x", 1, msg, sizeof msg), CACHE_ESTATE);
    cr_assert_eq(cache_entry_commit(e, msg, sizeof msg), CACHE_ESTATE);
    cache_entry_release(e);
    expect_content(s, "k", "v");
    cache_store_close(s);
}

Test(store, a_second_store_on_the_same_directory_is_refused)
{
    struct cache_store *s = open_store(0, 0);
    struct cache_opts o = {.dir = dir};
    enum cache_err err;
    char msg[MSG] = "";
    cr_assert_null(cache_store_open(&o, &err, msg, sizeof msg));
    cr_assert_eq(err, CACHE_EIO);
    cr_assert_not_null(strstr(msg, dir), "message: %s", msg);
    cache_store_close(s);
    struct cache_opts none = {.dir = ""};
    cr_assert_null(cache_store_open(&none, &err, msg, sizeof msg));
    cr_assert_eq(err, CACHE_EINVAL);
}

Test(store, an_unusable_directory_fails_open_with_the_path_and_the_os_error)
{
    char file[128], eb[128];
    snprintf(file, sizeof file, "%s/plain", tmp);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/plain/sub", tmp);
    struct cache_opts o = {.dir = dir};
    enum cache_err err;
    char msg[MSG] = "";
    cr_assert_null(cache_store_open(&o, &err, msg, sizeof msg));
    cr_assert_eq(err, CACHE_EIO);
    cr_assert_not_null(strstr(msg, file), "message: %s", msg);
    cr_assert_not_null(strstr(msg, strerror_r(ENOTDIR, eb, sizeof eb)), "message: %s", msg);
}

Test(store, snapshots_over_cache_size_from_an_earlier_run_are_evicted_oldest_first)
{
    struct cache_store *s = open_store(0, 0);
    fake_now = 100;
    fill_n(s, "old", 'o', 100);
    fake_now = 200;
    fill_n(s, "mid", 'm', 100);
    fake_now = 300;
    fill_n(s, "new", 'n', 100);
    cache_store_close(s);
    s = open_store(150, 0);
    cr_assert(!present(s, "old") && !present(s, "mid") && present(s, "new"));
    struct cache_stats st;
    cache_store_get_stats(s, &st);
    cr_assert_eq(st.bytes, 100);
    cr_assert_eq(bytes_on_disk(NULL), 100);
    cache_store_close(s);
}

/* ---- many threads ---- */

#define THREADS 8
#define ROUNDS 300
#define KEYS 6
#define CAP 3000

struct worker {
    struct cache_store *s;
    unsigned seed;
    int bad; /* content or codes that should not be */
    int served, failed, filled;
};

/* Every version of a key has the same bytes, so any reader can check what it got. */
static size_t expected(int k, char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; n + 16 < cap && i < 40 + 37 * k; i++)
        n += (size_t)snprintf(out + n, cap - n, "k%d-%d;", k, i);
    return n;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char want[4096], got[4096], msg[MSG], key[16];
    for (int r = 0; r < ROUNDS; r++) {
        int k = (int)(rand_r(&w->seed) % KEYS);
        snprintf(key, sizeof key, "t/%d", k);
        size_t n = expected(k, want, sizeof want);
        int created;
        enum cache_err err;
        struct cache_entry *e = cache_entry_acquire(w->s, key, &created, &err);
        if (!e) {
            w->bad++;
            continue;
        }
        if (created) {
            w->filled++;
            enum cache_err rc = cache_entry_append(e, want, n / 2, msg, sizeof msg);
            if (rc == CACHE_OK)
                rc = cache_entry_append(e, want + n / 2, n - n / 2, msg, sizeof msg);
            if (rc == CACHE_OK && rand_r(&w->seed) % 8 == 0)
                rc = CACHE_EFAILED;
            if (rc == CACHE_OK)
                rc = cache_entry_commit(e, msg, sizeof msg);
            if (rc != CACHE_OK)
                cache_entry_fail(e, rc, "filler gave up");
        }
        uint64_t size = 0;
        enum cache_err rc = cache_entry_wait(e, 0, &size, NULL, msg, sizeof msg);
        if (rc == CACHE_OK) {
            ssize_t got_n = cache_entry_read(e, got, sizeof got, 0);
            if (size != n || got_n != (ssize_t)n || memcmp(got, want, n) != 0)
                w->bad++;
            w->served++;
        } else if (rc == CACHE_EFAILED || rc == CACHE_ENOSPC) {
            w->failed++;
        } else {
            w->bad++;
        }
        if (rand_r(&w->seed) % 50 == 0)
            cache_store_invalidate(w->s, rand_r(&w->seed) % 2 ? "t/1" : "");
        cache_entry_release(e);
    }
    return NULL;
}

Test(store, many_threads_acquiring_and_releasing_the_same_keys_do_not_crash_or_leak)
{
    /* Room for about half of the six keys' bytes, so that eviction and ENOSPC race with everything.
     */
    struct cache_store *s = open_store(CAP, 0);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.s = s, .seed = 1234u + (unsigned)i};
        cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int served = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].bad, 0, "worker %d saw %d wrong results", i, w[i].bad);
        served += w[i].served;
    }
    cr_assert_gt(served, 0);
    struct cache_stats st;
    cache_store_get_stats(s, &st);
    int nfiles;
    cr_assert_eq(st.bytes, bytes_on_disk(&nfiles), "the accounting matches the disk");
    cr_assert_eq(st.entries, nfiles);
    cr_assert_leq(st.bytes, CAP);
    cr_assert_eq(st.hits + st.misses, THREADS * ROUNDS);
    cr_assert_gt(st.evictions, 0, "the run evicted");
    cache_store_close(s);
}

Test(store, commit_at_keeps_an_earlier_mtime_and_the_snapshot_is_fresh)
{
    /* A snapshot whose bytes equal an earlier one's keeps that one's time (rsync -a then skips
     * it), yet counts as used now: it is not stale for its old mtime. */
    fake_now = 9000.5;
    struct cache_store *s = open_store(0, 10);
    int created = -1;
    enum cache_err err;
    char msg[MSG] = "";
    struct cache_entry *e = cache_entry_acquire(s, "t/kept", &created, &err);
    cr_assert_eq(created, 1);
    cr_assert_eq(cache_entry_append(e, "same", 4, msg, sizeof msg), CACHE_OK, "%s", msg);
    cr_assert_eq(cache_entry_commit_at(e, 4242, msg, sizeof msg), CACHE_OK, "%s", msg);
    uint64_t size;
    time_t mtime;
    cr_assert_eq(cache_entry_wait(e, 0, &size, &mtime, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(mtime, 4242);
    cache_entry_release(e);
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/t%%2Fkept", dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mtime, 4242, "the file carries it across a reopen");
    fake_now = 9005;
    e = cache_entry_acquire(s, "t/kept", &created, &err);
    cr_assert_eq(created, 0, "fresh: used 4.5 s ago, ttl 10 s");
    cache_entry_release(e);

    e = cache_entry_acquire(s, "t/now", &created, &err);
    cr_assert_eq(cache_entry_append(e, "x", 1, msg, sizeof msg), CACHE_OK, "%s", msg);
    cr_assert_eq(cache_entry_commit_at(e, 0, msg, sizeof msg), CACHE_OK, "%s", msg);
    cr_assert_eq(cache_entry_wait(e, 0, &size, &mtime, msg, sizeof msg), CACHE_OK);
    cr_assert_eq(mtime, 9005, "0: the commit's time");
    cache_entry_release(e);
    cache_store_close(s);
}
