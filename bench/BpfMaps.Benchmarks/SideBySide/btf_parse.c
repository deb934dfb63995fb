/* The baseline BtfSpec's parser is compared with: libbpf's btf__parse() of a raw BTF file (such
 * as /sys/kernel/btf/vmlinux), which opens, reads, copies, indexes and checks it. The runner drives
 * it a parse at a time, so that the two parsers can alternate parse by parse: each line read from
 * stdin asks for one parse, timed around btf__parse() alone (btf__free() runs outside the clock),
 * and is answered with "<type count> <nanoseconds>". */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: btf_parse PATH < one line per parse\n"); return 2; }
    char line[16];
    while (fgets(line, sizeof(line), stdin)) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct btf *btf = btf__parse(argv[1], NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (!btf) { fprintf(stderr, "btf__parse(%s): %s\n", argv[1], strerror(errno)); return 1; }
        long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
        printf("%u %lld\n", btf__type_cnt(btf), ns);
        fflush(stdout);
        btf__free(btf);
    }
    return 0;
}
