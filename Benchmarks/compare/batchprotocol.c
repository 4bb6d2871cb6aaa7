// The store's batch ingest protocol (spec/store.md) in plain C, without hashing, reading inputs or any other work
// of Cairn's own: for each of N objects create tmp/put-<i> (O_EXCL), write 4 KiB, set user.cairn.size, fchmod 0444,
// close; one syncfs; renameat2(RENAME_NOREPLACE) each into one of 256 shard directories; a second syncfs.
// It is the floor for `cairn put --durability batch` of N 4 KiB files on this filesystem with this protocol.
// Usage: batchprotocol DIR N     (DIR must exist and be empty). Prints the seconds of the whole batch.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: batchprotocol DIR N\n");
        return 2;
    }
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    char temp[4096], final[4096];
    unsigned char buffer[4096];
    snprintf(temp, sizeof temp, "%s/tmp", dir);
    if (mkdir(temp, 0755)) die("mkdir tmp");
    for (int shard = 0; shard < 256; shard++) {  // made before the clock starts, as `cairn init` does
        snprintf(final, sizeof final, "%s/%02x", dir, shard);
        if (mkdir(final, 0755)) die("mkdir shard");
    }
    int root = open(dir, O_RDONLY | O_DIRECTORY);
    if (root < 0) die("open dir");
    sync();
    double start = now();
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof buffer; k += 8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            memcpy(buffer + k, &state, 8);
        }
        snprintf(temp, sizeof temp, "%s/tmp/put-%d", dir, i);
        int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) die("create temp");
        if (write(fd, buffer, sizeof buffer) != (ssize_t)sizeof buffer) die("write");
        if (fsetxattr(fd, "user.cairn.size", "4096", 4, 0)) die("fsetxattr");
        if (fchmod(fd, 0444)) die("fchmod");
        close(fd);
    }
    if (syncfs(root)) die("syncfs");
    for (int i = 0; i < n; i++) {
        snprintf(temp, sizeof temp, "%s/tmp/put-%d", dir, i);
        snprintf(final, sizeof final, "%s/%02x/%016llx%08d", dir, (unsigned)((i * 2654435761u) >> 24),
                 (unsigned long long)(i * 0x9E3779B97F4A7C15ull), i);
        if (renameat2(AT_FDCWD, temp, AT_FDCWD, final, RENAME_NOREPLACE)) die("renameat2");
    }
    if (syncfs(root)) die("syncfs");
    printf("%.6f\n", now() - start);
    return 0;
}
