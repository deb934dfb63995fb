// SPDX-License-Identifier: GPL-2.0
/* What a typical event producer looks like: a perf event array and a ring buffer declared without key or value
 * types (so the maps carry no BTF), and a program that writes a struct event into both. The program is loaded
 * with BTF, which is where event_pipe --type finds struct event. clang puts no local variable's type in BTF, so
 * the object keeps one in BTF with an unused global pointer, as event producers do for their user space side. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
	__u32 cpu;
	__u32 seq;
	char comm[8];
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} ring_events SEC(".maps");

__u32 next_seq;
struct event *unused_event __attribute__((unused));

SEC("xdp")
int emit(struct xdp_md *ctx)
{
	struct event e = {};

	e.cpu = bpf_get_smp_processor_id();
	e.seq = next_seq++;
	__builtin_memcpy(e.comm, "evt", 4);
	e.value = 1000 + e.seq;
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	bpf_ringbuf_output(&ring_events, &e, sizeof(e), 0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
