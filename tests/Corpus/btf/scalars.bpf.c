// SPDX-License-Identifier: GPL-2.0
/* Scalars: every integer width and signedness at its limits, _Bool, char, 128-bit integers,
 * enums (by name, unmatched, negative, 1 byte and 8 bytes wide), typedef chains and the const and
 * volatile qualifiers; and the two odd key sizes, 1 byte and 3 bytes. */
#include "corpus.h"

/* Integers at their limits. BTF marks plain char as a signed 1-byte INT named "char"; signed char
 * and unsigned char are separate INTs with their own names. */
struct int_limits {
	__s8 s8_min;
	__u8 u8_max;
	__s16 s16_min;
	__u16 u16_max;
	__s32 s32_min;
	__u32 u32_max;
	__s64 s64_min;
	__u64 u64_max;
	char char_a;
	signed char schar_neg;
	unsigned char uchar_200;
	_Bool bool_true;
	_Bool bool_false;
	unsigned __int128 u128_big;
	__int128 s128_neg;
	__int128 s128_small;
};

enum color { COLOR_RED, COLOR_GREEN, COLOR_BLUE };

/* Negative enumerators. clang 14 does not record signedness in BTF (no kind flag). */
enum result { RESULT_EPERM = -1, RESULT_ENOENT = -2, RESULT_OK = 0 };

/* An enum that the packed attribute shrinks to 1 byte. */
enum __attribute__((packed)) level { LEVEL_LOW = 1, LEVEL_HIGH = 200 };

/* An enumerator beyond 32 bits makes the enum 8 bytes wide. clang 14 cannot emit ENUM64: it writes
 * an 8-byte ENUM whose enumerator values are cut to their low 32 bits, so WIDE_BIG is recorded
 * as 5. */
enum wide { WIDE_ONE = 1, WIDE_BIG = 0x100000005ULL };

struct enum_values {
	enum color color_named;		/* COLOR_BLUE: printed by name */
	enum color color_unnamed;	/* 7: matches no enumerator, printed as a number */
	enum color color_high;		/* 0x80000001: no match, and above INT_MAX */
	enum result result_named;	/* RESULT_ENOENT (-2): a negative enumerator, by name */
	enum result result_unnamed;	/* -5: negative, matches nothing */
	enum level level_named;		/* LEVEL_HIGH in a 1-byte enum */
	enum level level_unnamed;	/* 3 in a 1-byte enum */
	enum wide wide_one;		/* WIDE_ONE in an 8-byte enum */
	enum wide wide_big;		/* WIDE_BIG: its BTF enumerator was truncated, so no match */
	enum wide wide_five;		/* 5: equals WIDE_BIG's truncated BTF value */
};

typedef __u32 pid_type;			/* TYPEDEF to a TYPEDEF (__u32) to an INT */
typedef pid_type tgid_type;		/* three typedefs deep */

struct qualified {
	pid_type pid;
	tgid_type tgid;
	volatile __u32 volatile_u32;	/* VOLATILE */
	const __u32 const_u32;		/* CONST */
	const volatile __u64 cv_u64;	/* CONST over VOLATILE */
	const char const_chars[6];	/* an array of CONST char: still a string */
};

/* A 3-byte key with no padding at all. */
struct rgb {
	__u8 r;
	__u8 g;
	__u8 b;
};

/* Slot 0 holds the limits; slot 1 stays zero. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct int_limits);
} int_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enum_values);
} enum_values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct qualified);
} qualified SEC(".maps");

/* A 1-byte key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u8);
	__type(value, __u32);
} by_u8 SEC(".maps");

/* A 3-byte struct key, and a value that is a bare enum. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, struct rgb);
	__type(value, enum color);
} by_rgb SEC(".maps");

SEC("xdp")
int fill_scalars(struct xdp_md *ctx)
{
	struct enum_values e;
	struct int_limits v;
	struct qualified q;
	enum color c;
	struct rgb rgb;
	__u32 zero = 0;
	__u32 small;
	__u8 k8;

	__builtin_memset(&v, 0, sizeof(v));
	v.s8_min = -128;
	v.u8_max = 255;
	v.s16_min = -32768;
	v.u16_max = 65535;
	v.s32_min = -2147483647 - 1;
	v.u32_max = 4294967295U;
	v.s64_min = -9223372036854775807LL - 1;
	v.u64_max = 18446744073709551615ULL;
	v.char_a = 'A';
	v.schar_neg = -1;
	v.uchar_200 = 200;
	v.bool_true = 1;
	v.bool_false = 0;
	v.u128_big = ((unsigned __int128)0x0123456789abcdefULL << 64) | 0xfedcba9876543210ULL;
	v.s128_neg = -1;
	v.s128_small = 42;
	PUT(&int_limits, &zero, &v);

	__builtin_memset(&e, 0, sizeof(e));
	e.color_named = COLOR_BLUE;
	e.color_unnamed = (enum color)7;
	e.color_high = (enum color)0x80000001U;
	e.result_named = RESULT_ENOENT;
	e.result_unnamed = (enum result)-5;
	e.level_named = LEVEL_HIGH;
	e.level_unnamed = (enum level)3;
	e.wide_one = WIDE_ONE;
	e.wide_big = WIDE_BIG;
	e.wide_five = (enum wide)5;
	PUT(&enum_values, &zero, &e);

	/* An initializer would be the natural way to set const members, but clang keeps its template in
	 * a .rodata section (one more map); writing through casts leaves the object without one. */
	__builtin_memset(&q, 0, sizeof(q));
	q.pid = 4242;
	q.tgid = 4240;
	q.volatile_u32 = 0xdeadbeef;
	*(__u32 *)&q.const_u32 = 77;
	*(__u64 *)&q.cv_u64 = 0x1122334455667788ULL;
	SET_STR(q.const_chars, "const");
	PUT(&qualified, &zero, &q);

	k8 = 7;
	small = 7;
	PUT(&by_u8, &k8, &small);
	k8 = 255;
	small = 255;
	PUT(&by_u8, &k8, &small);

	rgb.r = 255;
	rgb.g = 128;
	rgb.b = 0;
	c = COLOR_RED;
	PUT(&by_rgb, &rgb, &c);
	rgb.r = 0;
	rgb.g = 0;
	rgb.b = 255;
	c = COLOR_BLUE;
	PUT(&by_rgb, &rgb, &c);
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
