// The filesystem's own floor for creating many small files, for store.sh to set Cairn's figures beside.
// Creates N files of 4 KiB (distinct bytes each) spread over 256 shard directories, with one of three sync rules:
//   none     open(O_CREAT|O_EXCL) + write + close: no sync at all (what no durable store can beat)
//   syncfs   the same, then one syncfs(2) for the whole set (the floor for `cairn put --durability batch`)
//   durable  per file: write to NAME.tmp, fsync, close, rename to NAME, fsync the shard directory
//            (the classic durable publish; the floor for `cairn put --durability object`)
// The shard directories are made before the clock starts. Prints one line: "SECONDS FILES_PER_SECOND".
// Usage: fsfloor DIR N none|syncfs|durable     (DIR must exist and hold no shard directories yet)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, const char *path) {
    fprintf(stderr, "fsfloor: %s %s: ", what, path);
    perror(NULL);
    exit(1);
}

// SplitMix64: the bytes of file i, so that no two files are alike.
static void fill(unsigned char *buffer, size_t count, uint64_t seed) {
    for (size_t i = 0; i < count; i += 8) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        memcpy(buffer + i, &z, 8);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: fsfloor DIR N none|syncfs|durable\n");
        return 2;
    }
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    const char *mode = argv[3];
    int durable = !strcmp(mode, "durable"), sync_once = !strcmp(mode, "syncfs");
    if (n <= 0 || (!durable && !sync_once && strcmp(mode, "none"))) {
        fprintf(stderr, "usage: fsfloor DIR N none|syncfs|durable\n");
        return 2;
    }
    char path[4096], temp[4200];
    unsigned char buffer[4096];
    int shards[256];
    for (int shard = 0; shard < 256; shard++) {
        snprintf(path, sizeof path, "%s/%02x", dir, shard);
        if (mkdir(path, 0755)) die("mkdir", path);
        shards[shard] = open(path, O_RDONLY | O_DIRECTORY);
        if (shards[shard] < 0) die("open", path);
    }
    sync();
    double start = now();
    for (int i = 0; i < n; i++) {
        fill(buffer, sizeof buffer, (uint64_t)i + 1);
        int shard = buffer[0];
        snprintf(path, sizeof path, "%s/%02x/%02x%08d", dir, shard, buffer[1], i);
        snprintf(temp, sizeof temp, "%s.tmp", path);
        const char *target = durable ? temp : path;
        int fd = open(target, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) die("open", target);
        if (write(fd, buffer, sizeof buffer) != (ssize_t)sizeof buffer) die("write", target);
        if (durable && fsync(fd)) die("fsync", target);
        if (close(fd)) die("close", target);
        if (durable) {
            if (rename(temp, path)) die("rename", temp);
            if (fsync(shards[shard])) die("fsync directory of", path);
        }
    }
    if (sync_once && syncfs(shards[0])) die("syncfs", dir);
    double seconds = now() - start;
    printf("%.6f %.0f\n", seconds, n / seconds);
    for (int shard = 0; shard < 256; shard++) close(shards[shard]);
    return 0;
}
