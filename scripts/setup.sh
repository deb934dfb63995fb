#!/usr/bin/env bash
# Installs what the project needs beyond the .NET SDK, and mounts bpffs. Idempotent.
set -euo pipefail

need=()
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)
command -v bpftool >/dev/null || need+=(bpftool)
{ command -v setpriv && command -v taskset; } >/dev/null || need+=(util-linux)
command -v clang-14 >/dev/null || need+=(clang-14)
command -v llvm-objcopy-14 >/dev/null || need+=(llvm-14)
# <bpf/bpf_helpers.h> for the BTF corpus (tests/Corpus/btf); libbpf itself (-lbpf) for the bench baselines
# (btf_parse.c, SideBySide/ringbuf_consume.c).
{ [ -f /usr/include/bpf/bpf_helpers.h ] && [ -f /usr/include/bpf/libbpf.h ] && ls /usr/lib/*/libbpf.so >/dev/null 2>&1; } || need+=(libbpf-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]} and cannot install them (not root or no apt-get); dependent tests will skip" >&2
  fi
fi

if [ "$(id -u)" = 0 ] && [ -d /sys/fs/bpf ] && [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
  mount -t bpf bpf /sys/fs/bpf || echo "setup: could not mount bpffs at /sys/fs/bpf; pin tests will skip" >&2
fi
