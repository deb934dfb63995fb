/* The baseline the perf buffer reader is compared with: libbpf's perf_buffer__new over a
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY given by id (a ring on every online CPU, PAGES data pages each), with a
 * sample callback that reads each record's sequence number, drained by perf_buffer__consume or a
 * perf_buffer__poll loop. It prints "ready" once its events are in the map and waits for a line on stdin:
 * the records are written meanwhile, and only the draining is timed.
 * Prints "<records> <nanoseconds> <sum of sequence numbers>". */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct state { uint64_t sum; uint64_t records; uint64_t lost; };

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
    struct state *s = ctx;
    if (size >= 16) s->sum += *(const uint64_t *)((const char *)data + 8);
    s->records++;
}

static void on_lost(void *ctx, int cpu, __u64 count)
{
    struct state *s = ctx;
    s->lost += count;
}

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: perfbuf_consume MAP_ID RECORDS PAGES consume|poll\n"); return 2; }
    int fd = bpf_map_get_fd_by_id((uint32_t)atoi(argv[1]));
    if (fd < 0) { perror("bpf_map_get_fd_by_id"); return 1; }
    uint64_t expected = strtoull(argv[2], NULL, 10);
    size_t pages = strtoul(argv[3], NULL, 10);
    int poll = strcmp(argv[4], "poll") == 0;
    struct state s = { 0, 0, 0 };
    struct perf_buffer *pb = perf_buffer__new(fd, pages, on_sample, on_lost, &s, NULL);
    if (!pb) { perror("perf_buffer__new"); return 1; }
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) { fprintf(stderr, "no go\n"); return 1; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (poll) {
        while (s.records < expected) {
            int n = perf_buffer__poll(pb, 100);
            if (n < 0) { fprintf(stderr, "perf_buffer__poll: %d\n", n); return 1; }
        }
    } else {
        int n = perf_buffer__consume(pb);
        if (n < 0) { fprintf(stderr, "perf_buffer__consume: %d\n", n); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    if (s.lost) { fprintf(stderr, "lost %llu\n", (unsigned long long)s.lost); return 1; }
    printf("%llu %lld %llu\n", (unsigned long long)s.records, ns, (unsigned long long)s.sum);
    perf_buffer__free(pb);
    return 0;
}
