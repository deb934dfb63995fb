// SPDX-License-Identifier: GPL-2.0
/* Maps of maps whose inner maps carry BTF. libbpf creates inner_a and inner_b from the .values
 * initialisers and puts them into the outer maps at load time; the fill program then reaches
 * each inner map through its outer map. */
#include "corpus.h"

struct inner_value {
	__u32 id;
	char label[12];
};

/* One definition, two instances: both inner maps have this BTF key and value. */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct inner_value);
} inner_a SEC(".maps"), inner_b SEC(".maps");

/* Slots 0 and 2 hold inner_a and inner_b; slots 1 and 3 are empty. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

/* libbpf uses the slot index as the key: keys 1 and 3. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [1] = &inner_b, [3] = &inner_a },
};

SEC("xdp")
int fill_inner(struct xdp_md *ctx)
{
	struct inner_value v;
	__u32 slot;
	void *inner;
	__u32 k;

	/* inner_a, through outer_array[0]: element 0 is {1, "via-array"}. */
	slot = 0;
	inner = bpf_map_lookup_elem(&outer_array, &slot);
	if (!inner)
		return FILL_FAILED;
	__builtin_memset(&v, 0, sizeof(v));
	v.id = 1;
	SET_STR(v.label, "via-array");
	k = 0;
	PUT(inner, &k, &v);

	/* inner_b, through outer_hash[1]: element 1 is {2, "via-hash"}. */
	slot = 1;
	inner = bpf_map_lookup_elem(&outer_hash, &slot);
	if (!inner)
		return FILL_FAILED;
	__builtin_memset(&v, 0, sizeof(v));
	v.id = 2;
	SET_STR(v.label, "via-hash");
	k = 1;
	PUT(inner, &k, &v);
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
