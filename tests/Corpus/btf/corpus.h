/* Shared by every object of the BTF corpus (tests/Corpus/BtfCorpus.cs builds and loads them).
 *
 * Each object has maps with BTF and XDP programs that fill them. The fixture runs every program of
 * an object through BPF_PROG_TEST_RUN once on each CPU it may use, so:
 *  - a program writes absolute values, and running it again changes nothing;
 *  - a per-CPU map gets one value per CPU, computed from bpf_get_smp_processor_id();
 *  - a program returns FILL_OK when every update succeeded and FILL_FAILED otherwise, which the
 *    fixture reports as a failure naming the program.
 */
#ifndef BPFMAPS_CORPUS_H
#define BPFMAPS_CORPUS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define FILL_OK XDP_PASS
#define FILL_FAILED XDP_ABORTED

/* Updates one element, or leaves the program with FILL_FAILED. */
#define PUT(map, key, value)                                          \
	do {                                                          \
		if (bpf_map_update_elem((map), (key), (value), BPF_ANY)) \
			return FILL_FAILED;                           \
	} while (0)

/* Copies a string literal, with its NUL, into a char array one byte at a time.
 * A memcpy or a struct initializer would make clang keep the literal in a .rodata section, and
 * libbpf turns every such section into one more map; the volatile stores stop clang from merging
 * the bytes back into a copy from that literal. */
#define SET_STR(dst, lit)                                                         \
	do {                                                                      \
		_Static_assert(sizeof(lit) <= sizeof(dst), #dst " is too small"); \
		_Pragma("unroll") for (int i__ = 0; i__ < (int)sizeof(lit); i__++) \
			((volatile char *)(dst))[i__] = (lit)[i__];               \
	} while (0)

/* Like SET_STR, without the NUL: the array ends up with no terminator. */
#define SET_CHARS(dst, lit)                                                           \
	do {                                                                          \
		_Static_assert(sizeof(lit) - 1 == sizeof(dst), #dst " must fit exactly"); \
		_Pragma("unroll") for (int i__ = 0; i__ < (int)sizeof(dst); i__++)    \
			((volatile char *)(dst))[i__] = (lit)[i__];                   \
	} while (0)

#endif
