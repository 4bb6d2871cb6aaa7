// Fan-out benchmark for the object layout: creates N small objects under objects/<ab>/<hex> (depth 1)
// or objects/<ab>/<cd>/<hex> (depth 2), then times random lookups (stat) and a full listing walk.
// Usage: fanout DIR DEPTH N     (DIR must not exist; it is created). Prints one line of figures.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
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

static uint64_t mix(uint64_t x) {  // splitmix64: deterministic "digests"
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void path_for(char *out, const char *root, int depth, uint64_t i) {
    char hex[65];
    for (int k = 0; k < 4; k++) sprintf(hex + 16 * k, "%016llx", (unsigned long long)mix(i * 4 + k));
    if (depth == 1) sprintf(out, "%s/%.2s/%s", root, hex, hex);
    else sprintf(out, "%s/%.2s/%.2s/%s", root, hex, hex + 2, hex);
}

static long walk(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    long count = 0;
    struct dirent *e;
    char sub[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (e->d_type == DT_DIR) {
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            count += walk(sub);
        } else count++;
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: fanout DIR DEPTH N\n"); return 2; }
    const char *root = argv[1];
    int depth = atoi(argv[2]);
    long n = atol(argv[3]);
    char path[4096], dir[4096];
    if (mkdir(root, 0755) != 0) { perror(root); return 2; }
    double t0 = now();
    for (long i = 0; i < n; i++) {
        path_for(path, root, depth, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0444);
        if (fd < 0 && errno == ENOENT) {
            strcpy(dir, path);
            char *slash = strrchr(dir, '/');
            *slash = 0;
            if (depth == 2) {
                char *s2 = strrchr(dir, '/');
                *s2 = 0;
                mkdir(dir, 0755);
                *s2 = '/';
            }
            mkdir(dir, 0755);
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0444);
        }
        if (fd < 0) { perror(path); return 2; }
        if (write(fd, path, 64) != 64) { perror("write"); return 2; }
        close(fd);
    }
    double create = now() - t0;
    sync();
    // Random lookups of present objects (cold-ish: after sync; page cache still warm).
    long lookups = n < 200000 ? n : 200000;
    struct stat st;
    t0 = now();
    for (long k = 0; k < lookups; k++) {
        path_for(path, root, depth, mix(k + 77) % n);
        if (stat(path, &st) != 0) { perror(path); return 2; }
    }
    double lookup = now() - t0;
    t0 = now();
    long listed = walk(root);
    double list = now() - t0;
    printf("depth=%d objects=%ld create_per_s=%.0f lookup_per_s=%.0f list_per_s=%.0f listed=%ld\n", depth, n,
           n / create, lookups / lookup, listed / list, listed);
    return listed == n ? 0 : 1;
}
