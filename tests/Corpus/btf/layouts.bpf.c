// SPDX-License-Identifier: GPL-2.0
/* Struct layouts: bitfields, holes whose bytes are not zero, anonymous struct and union members, a
 * named union, and every kind of pointer member (void, struct, forward-declared, restrict,
 * type-tagged, const, function), with decl tags on a struct and on members. */
#include "corpus.h"

/* Bitfields, all in one 8-byte unit. clang sets the kind flag on this STRUCT and records each
 * member's bit size and bit offset. */
struct bits {
	unsigned int flag : 1;		/* bit 0: 1 */
	unsigned int mode : 3;		/* bits 1-3: 5 */
	unsigned int across : 6;	/* bits 4-9, across the first byte boundary: 42 */
	signed int delta : 4;		/* bits 10-13, signed: -3 */
	__u64 wide : 40;		/* bits 14-53, a 64-bit base crossing five bytes: 0x123456789a */
	__u8 tail : 2;			/* bits 54-55: 3 */
};

/* Holes: 3 bytes after a, 7 after c, and 6 of tail padding after e. The fill program sets every
 * byte to 0xee before writing the members, so the holes are not zero in the raw value. */
struct holes {
	__u8 a;
	__u32 b;
	__u8 c;
	__u64 d;
	__u16 e;
};

/* A named UNION type. */
union word {
	__u64 u64;
	__s64 s64;
	__u32 halves[2];
	char text[8];
};

/* Anonymous members: BTF gives them an empty name. */
struct anon {
	__u32 id;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	struct {
		__u16 lo;
		__u16 hi;
	};
	union word named;
};

struct node {
	__u32 id;
	struct node *next;
};

/* Declared and never defined: BTF has a FWD for it. */
struct opaque;

/* Pointer values are plain numbers here (a map cannot hold a real pointer from these programs);
 * the point is how each pointer type prints. */
struct pointers {
	void *null_void;			/* PTR to void, 0 */
	void *void_ptr;				/* PTR to void */
	struct node *node_ptr;			/* PTR to STRUCT */
	struct opaque *opaque_ptr;		/* PTR to FWD */
	char *restrict restrict_ptr;		/* RESTRICT over PTR */
	int __attribute__((btf_type_tag("user"))) *user_ptr;	/* PTR to TYPE_TAG to INT */
	const char *const_ptr;			/* PTR to CONST char */
	int (*func_ptr)(int);			/* PTR to FUNC_PROTO */
	__u32 after __attribute__((btf_decl_tag("corpus:after-pointers")));	/* DECL_TAG on a member */
} __attribute__((btf_decl_tag("corpus:pointers")));	/* DECL_TAG on the struct */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bits);
} bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct holes);
} holes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct anon);
} anon SEC(".maps");

/* A map whose value is a bare union. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, union word);
} words SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pointers);
} pointers SEC(".maps");

SEC("xdp")
int fill_layouts(struct xdp_md *ctx)
{
	struct pointers p;
	struct holes h;
	struct bits b;
	struct anon a;
	union word w;
	__u32 zero = 0;
	__u32 k;

	__builtin_memset(&b, 0, sizeof(b));
	b.flag = 1;
	b.mode = 5;
	b.across = 42;
	b.delta = -3;
	b.wide = 0x123456789aULL;
	b.tail = 3;
	PUT(&bits, &zero, &b);

	__builtin_memset(&h, 0xee, sizeof(h));
	h.a = 1;
	h.b = 2;
	h.c = 3;
	h.d = 4;
	h.e = 5;
	PUT(&holes, &zero, &h);

	__builtin_memset(&a, 0, sizeof(a));
	a.id = 9;
	a.as_u32 = 0x04030201;
	a.lo = 0x1111;
	a.hi = 0x2222;
	a.named.u64 = 0xfffffffffffffffeULL;
	PUT(&anon, &zero, &a);

	/* Key 1 reads as the string "union" through text; key 2 has no NUL in text. */
	__builtin_memset(&w, 0, sizeof(w));
	SET_STR(w.text, "union");
	k = 1;
	PUT(&words, &k, &w);
	w.s64 = -2;
	k = 2;
	PUT(&words, &k, &w);

	__builtin_memset(&p, 0, sizeof(p));
	p.void_ptr = (void *)0x1000;
	p.node_ptr = (struct node *)0xffff888012345678ULL;
	p.opaque_ptr = (struct opaque *)0x2000;
	p.restrict_ptr = (char *)0x3000;
	p.user_ptr = (int *)0xdeadbeef;
	p.const_ptr = (const char *)0x4000;
	p.func_ptr = (int (*)(int))0x5000;
	p.after = 0xc0ffee;
	PUT(&pointers, &zero, &p);
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
