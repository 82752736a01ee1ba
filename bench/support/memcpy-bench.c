/* Baseline for live reads: mmap the guest's RAM file and memcpy it out, 1 MiB at a time. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: memcpy-bench FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) < 0) {
        perror(argv[1]);
        return 2;
    }
    size_t size = (size_t)info.st_size;
    unsigned char *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    static unsigned char chunk[1 << 20];
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (size_t offset = 0; offset < size; offset += sizeof(chunk)) {
            size_t count = size - offset < sizeof(chunk) ? size - offset : sizeof(chunk);
            memcpy(chunk, map + offset, count);
            __asm__ volatile("" : : "r"(chunk) : "memory");
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
        double rate = (double)size / seconds;
        if (rate > best) {
            best = rate;
        }
    }
    printf("%.0f\n", best);
    return 0;
}
