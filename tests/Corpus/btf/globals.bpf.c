// SPDX-License-Identifier: GPL-2.0
/* Global variables. libbpf turns each data section into a one-element array map whose value type
 * is the section's DATASEC, listing one VAR per variable: .bss (zero-initialised, written by the
 * program), .data (initialised), .rodata (const volatile, frozen after load) and .data.custom (a
 * section named by the program). */
#include "corpus.h"

struct config {
	__u16 port;
	char iface[8];
	_Bool enabled;
};

/* .bss */
__u64 packets_seen;
char last_comm[16];
__u32 per_slot[4];
struct config live_config;
/* A static variable: its VAR has static linkage. volatile keeps clang from dropping the stores. */
static volatile __u32 static_counter;

/* .data; flag (1 byte) is followed by a 7-byte gap before big, inside the DATASEC. */
int answer = 42;
char banner[12] = "hello";
__u8 flag = 1;
__u64 big = 0x1122334455667788ULL;
struct config default_config = { .port = 8080, .iface = "eth0", .enabled = 1 };

/* .rodata */
const volatile __u32 max_flows = 1024;
const volatile char version[8] = "v1.2";
const volatile int negative_limit = -100;

/* .data.custom */
__u32 custom_counter SEC(".data.custom") = 7;
char custom_label[8] SEC(".data.custom") = "custom";

SEC("xdp")
int fill_globals(struct xdp_md *ctx)
{
	__builtin_memset(last_comm, 0, sizeof(last_comm));
	SET_STR(last_comm, "bash");
	packets_seen = 12345;
	for (int i = 0; i < 4; i++)
		per_slot[i] = (i + 1) * max_flows;
	live_config.port = 443;
	SET_STR(live_config.iface, "lo");
	live_config.enabled = 1;
	static_counter = 3;
	custom_counter = 7;
	return FILL_OK;
}

char LICENSE[] SEC("license") = "GPL";
