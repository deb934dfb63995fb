// SPDX-License-Identifier: GPL-2.0
/* Arrays: which char arrays bpftool shows as strings and which as numbers, integer and
 * two-dimensional arrays, arrays of structs, a flexible array member, and maps whose key or
 * value is itself a char array. */
#include "corpus.h"

/* bpftool shows an array as a string when its element, after const/volatile, is a 1-byte INT
 * named "char" (typedefs are not looked through), and a NUL comes before any byte outside
 * 0x20..0x7e. Everything else is a list of numbers. */
struct char_arrays {
	char word[8];			/* "bash": a string */
	char escapes[24];		/* a double quote and a backslash inside a string */
	char apostrophe[8];		/* "it's": a single quote inside a string */
	char control[8];		/* "ab\x01cd": a control byte, so numbers */
	char high_bit[8];		/* "caf\xc3\xa9" (UTF-8): bytes above 0x7e, so numbers */
	char unterminated[4];		/* "abcd" filling the array with no NUL: numbers */
	char zeros[4];			/* all zero: the NUL comes first, so an empty string */
	char nul_first[8];		/* "\0xyz": also an empty string, the bytes after are ignored */
	char after_nul[8];		/* "ab\0\x01": the string "ab"; the control byte after the NUL is ignored */
	unsigned char uchars[4];	/* "abc" in unsigned char: not named "char", numbers */
	signed char schars[4];		/* "abc" in signed char: numbers */
	__u8 mac[6];			/* a typedef to unsigned char: numbers */
};

struct point {
	__s16 x;
	__s16 y;
};

struct number_arrays {
	int ints[4];			/* {1, -2, 3, -4} */
	__u16 shorts[3];		/* {1, 2, 65535} */
	int grid[2][3];			/* an ARRAY of ARRAY */
	char words[3][6];		/* an array of strings: {"one", "two", ""} */
	struct point points[2];		/* an array of structs */
	__u32 count;			/* 2 */
	__u32 flex[];			/* a flexible array member: 0 elements in BTF */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct char_arrays);
} char_arrays SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct number_arrays);
} number_arrays SEC(".maps");

/* A map whose value is a bare char[16]. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, char[16]);
} names SEC(".maps");

/* A map whose key is a bare char[8]. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, char[8]);
	__type(value, __u64);
} by_name SEC(".maps");

SEC("xdp")
int fill_arrays(struct xdp_md *ctx)
{
	struct number_arrays n;
	struct char_arrays c;
	char name[16];
	char key[8];
	__u32 zero = 0;
	__u32 id;
	__u64 count;

	__builtin_memset(&c, 0, sizeof(c));
	SET_STR(c.word, "bash");
	SET_STR(c.escapes, "say \"hi\" \\ bye");
	SET_STR(c.apostrophe, "it's");
	SET_STR(c.control, "ab\x01" "cd");
	SET_STR(c.high_bit, "caf\xc3\xa9");
	SET_CHARS(c.unterminated, "abcd");
	SET_STR(c.nul_first, "\0xyz");
	SET_STR(c.after_nul, "ab\0\x01");
	SET_STR(c.uchars, "abc");
	SET_STR(c.schars, "abc");
	c.mac[0] = 0x02;
	c.mac[1] = 0x42;
	c.mac[2] = 0xac;
	c.mac[3] = 0x11;
	c.mac[4] = 0x00;
	c.mac[5] = 0x07;
	PUT(&char_arrays, &zero, &c);

	__builtin_memset(&n, 0, sizeof(n));
	n.ints[0] = 1;
	n.ints[1] = -2;
	n.ints[2] = 3;
	n.ints[3] = -4;
	n.shorts[0] = 1;
	n.shorts[1] = 2;
	n.shorts[2] = 65535;
	for (int r = 0; r < 2; r++)
		for (int col = 0; col < 3; col++)
			n.grid[r][col] = r * 10 + col;
	SET_STR(n.words[0], "one");
	SET_STR(n.words[1], "two");
	n.points[0].x = -1;
	n.points[0].y = 1;
	n.points[1].x = 300;
	n.points[1].y = -300;
	n.count = 2;
	PUT(&number_arrays, &zero, &n);

	__builtin_memset(name, 0, sizeof(name));
	SET_STR(name, "init");
	id = 1;
	PUT(&names, &id, name);
	__builtin_memset(name, 0, sizeof(name));
	SET_STR(name, "kworker/0:1");
	id = 2;
	PUT(&names, &id, name);

	__builtin_memset(key, 0, sizeof(key));
	SET_STR(key, "eth0");
	count = 1500;
	PUT(&by_name, key, &count);
	__builtin_memset(key, 0, sizeof(key));
	SET_STR(key, "lo");
	count = 65536;
	PUT(&by_name, key, &count);
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
