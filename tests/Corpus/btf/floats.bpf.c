// SPDX-License-Identifier: GPL-2.0
/* FLOAT members and values. bpftool 7.1 has no printer for FLOAT: where it meets one it writes
 * "(unsupported-kind" (no closing parenthesis, not JSON), stops printing the enclosing struct
 * and closes the braces. They live in their own object so every other map of the corpus dumps
 * as parseable JSON. */
#include "corpus.h"

/* bpftool prints before, then stops at ratio: mean and after never appear. */
struct measurement {
	__u32 before;
	float ratio;
	double mean;
	__u32 after;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct measurement);
} measurement SEC(".maps");

/* A value that is a bare double. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, double);
} ratio SEC(".maps");

SEC("xdp")
int fill_floats(struct xdp_md *ctx)
{
	struct measurement m;
	__u64 ratio_bits;
	__u32 zero = 0;

	/* Stored by their bit patterns: the BPF target has no floating point. */
	__builtin_memset(&m, 0, sizeof(m));
	m.before = 1;
	*(__u32 *)&m.ratio = 0x3fc00000;		/* 1.5f */
	*(__u64 *)&m.mean = 0xc004000000000000ULL;	/* -2.5 */
	m.after = 2;
	PUT(&measurement, &zero, &m);

	ratio_bits = 0x3fd0000000000000ULL;		/* 0.25 */
	PUT(&ratio, &zero, &ratio_bits);
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
