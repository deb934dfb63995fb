/* The baseline the ring buffer consumer is compared with: libbpf's ring_buffer__consume (or a
 * ring_buffer__poll loop) over a BPF_MAP_TYPE_RINGBUF given by id, with a callback that reads each
 * record's sequence number. The ring is filled before this starts; only the draining is timed.
 * Prints "<records> <nanoseconds> <sum of sequence numbers>". */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct state { uint64_t sum; uint64_t records; };

static int on_record(void *ctx, void *data, size_t size)
{
    struct state *s = ctx;
    if (size >= 16) s->sum += *(const uint64_t *)((const char *)data + 8);
    s->records++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: ringbuf_consume MAP_ID RECORDS consume|poll\n"); return 2; }
    int fd = bpf_map_get_fd_by_id((uint32_t)atoi(argv[1]));
    if (fd < 0) { perror("bpf_map_get_fd_by_id"); return 1; }
    uint64_t expected = strtoull(argv[2], NULL, 10);
    int poll = strcmp(argv[3], "poll") == 0;
    struct state s = { 0, 0 };
    struct ring_buffer *rb = ring_buffer__new(fd, on_record, &s, NULL);
    if (!rb) { perror("ring_buffer__new"); return 1; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (poll) {
        while (s.records < expected) {
            int n = ring_buffer__poll(rb, 100);
            if (n < 0) { fprintf(stderr, "ring_buffer__poll: %d\n", n); return 1; }
        }
    } else {
        int n = ring_buffer__consume(rb);
        if (n < 0) { fprintf(stderr, "ring_buffer__consume: %d\n", n); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("%llu %lld %llu\n", (unsigned long long)s.records, ns, (unsigned long long)s.sum);
    ring_buffer__free(rb);
    return 0;
}
