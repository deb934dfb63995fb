/* The baseline BpfMaps is compared with: BPF_MAP_LOOKUP_BATCH in a tight C loop over a map
 * given by id, same batch size, touching every value. Prints "<entries> <nanoseconds>".
 * With DELETE 1, BPF_MAP_LOOKUP_AND_DELETE_BATCH instead: the floor of a drain. */
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

static long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: batch_loop ID KEY_SIZE VALUE_BUF_SIZE BATCH [ROUNDS [DELETE]]\n"); return 2; }
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_id = (uint32_t)atoi(argv[1]);
    int fd = (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
    if (fd < 0) { perror("BPF_MAP_GET_FD_BY_ID"); return 1; }
    size_t ks = (size_t)atoi(argv[2]), vs = (size_t)atoi(argv[3]), batch = (size_t)atoi(argv[4]);
    int rounds = argc > 5 ? atoi(argv[5]) : 1;
    int cmd = argc > 6 && atoi(argv[6]) ? BPF_MAP_LOOKUP_AND_DELETE_BATCH : BPF_MAP_LOOKUP_BATCH;
    char *keys = malloc(ks * batch), *vals = malloc(vs * batch);
    uint64_t in = 0, out = 0, sum = 0, total = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < rounds; r++) {
        int first = 1;
        for (;;) {
            memset(&a, 0, sizeof(a));
            a.batch.map_fd = fd;
            a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&in;
            a.batch.out_batch = (uint64_t)(uintptr_t)&out;
            a.batch.keys = (uint64_t)(uintptr_t)keys;
            a.batch.values = (uint64_t)(uintptr_t)vals;
            a.batch.count = (uint32_t)batch;
            long err = sys_bpf(cmd, &a);
            if (err && errno != ENOENT) { perror(cmd == BPF_MAP_LOOKUP_BATCH ? "BPF_MAP_LOOKUP_BATCH" : "BPF_MAP_LOOKUP_AND_DELETE_BATCH"); return 1; }
            for (uint32_t i = 0; i < a.batch.count; i++) sum += (unsigned char)vals[i * vs];
            total += a.batch.count;
            if (err) break;
            in = out;
            first = 0;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("%llu %lld %llu\n", (unsigned long long)total, ns, (unsigned long long)sum);
    return 0;
}
