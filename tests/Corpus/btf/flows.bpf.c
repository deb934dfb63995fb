// SPDX-License-Identifier: GPL-2.0
/* The flow table from the BTF feature request, in every hash and array flavour we dump:
 * a struct key with a tail hole, a value with a string, counters, a bool and a negative int,
 * and per-CPU counters whose value depends on the CPU. */
#include "corpus.h"

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* 13 bytes of members; the compiler pads it to 16, and BTF names none of the 3 tail bytes. */
struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
};

/* comm is a C string; seen is followed by a 3-byte hole before last_err. */
struct flow_stats {
	char comm[16];
	__u64 packets;
	__u64 bytes;
	_Bool seen;
	int last_err;
};

struct flow_counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct flow_counters);
} flows_percpu SEC(".maps");

/* Slots 0 and 1 are written; 2 and 3 stay zero on every CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} slots_percpu SEC(".maps");

static __always_inline void make_key(struct flow_key *k, __u32 saddr, __u32 daddr, __u16 sport,
				     __u16 dport, __u8 proto)
{
	/* Zero the tail hole too: the key bytes are what the kernel hashes. */
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
}

SEC("xdp")
int fill_flows(struct xdp_md *ctx)
{
	struct flow_key k;
	struct flow_stats v;

	/* 10.0.0.1:12345 -> 10.0.0.2:80 over TCP, as host-order numbers. */
	make_key(&k, 0x0a000001, 0x0a000002, 12345, 80, IPPROTO_TCP);
	__builtin_memset(&v, 0, sizeof(v));
	SET_STR(v.comm, "bash");
	v.packets = 3;
	v.bytes = 180;
	v.seen = 1;
	v.last_err = -2;
	PUT(&flows, &k, &v);
	PUT(&flows_lru, &k, &v);

	/* 10.0.0.3:5353 -> 224.0.0.251:5353 over UDP: an entry with seen false and no error. */
	make_key(&k, 0x0a000003, 0xe00000fb, 5353, 5353, IPPROTO_UDP);
	__builtin_memset(&v, 0, sizeof(v));
	SET_STR(v.comm, "avahi-daemon");
	v.packets = 1;
	v.bytes = 0xffffffffffffffffULL;
	v.seen = 0;
	v.last_err = 0;
	PUT(&flows, &k, &v);
	return FILL_OK;
}

SEC("xdp")
int fill_percpu(struct xdp_md *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct flow_counters c;
	struct flow_key k;
	__u64 slot_value;
	__u32 slot;

	/* CPU n counts n+1 packets of 1000 bytes each, on this CPU only. */
	make_key(&k, 0x0a000001, 0x0a000002, 12345, 80, IPPROTO_TCP);
	c.packets = cpu + 1;
	c.bytes = (cpu + 1) * 1000;
	PUT(&flows_percpu, &k, &c);

	/* Slot s on CPU n holds s * 100 + n + 1. (No loop: the verifier loses the bound of a
	 * counter whose address went to a helper.) */
	slot = 0;
	slot_value = cpu + 1;
	PUT(&slots_percpu, &slot, &slot_value);
	slot = 1;
	slot_value = 100 + cpu + 1;
	PUT(&slots_percpu, &slot, &slot_value);
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
