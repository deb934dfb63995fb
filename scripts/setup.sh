#!/usr/bin/env bash
# Installs what the project needs beyond the .NET SDK, and mounts bpffs. Idempotent.
set -euo pipefail

need=()
command -v gcc >/dev/null || need+=(gcc)
# NativeAOT (dotnet publish/pack -r linux-x64 with PublishAot, scripts/tool-install-test.sh) links with clang,
# or with gcc when there is no clang (gcc is above), and needs zlib's headers and static library.
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
# scripts/tool-install-test.sh opens the any package (a zip).
command -v unzip >/dev/null || need+=(unzip)
# ... checks its assemblies' ReadyToRun header with python3, and tells the arm64 package's executables by file(1).
command -v python3 >/dev/null || need+=(python3)
command -v file >/dev/null || need+=(file)
[ -f /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)
command -v bpftool >/dev/null || need+=(bpftool)
{ command -v setpriv && command -v taskset; } >/dev/null || need+=(util-linux)
command -v clang-14 >/dev/null || need+=(clang-14)
command -v llvm-objcopy-14 >/dev/null || need+=(llvm-14)
# The linux-arm64 NativeAOT package, built on x64 (Directory.Build.targets): the cross libc, crt files and
# binutils clang-14 links with; qemu-user runs the result in scripts/tool-install-test.sh.
if [ "$(uname -m)" = x86_64 ]; then
  command -v aarch64-linux-gnu-objcopy >/dev/null || need+=(binutils-aarch64-linux-gnu)
  [ -d /usr/lib/gcc-cross/aarch64-linux-gnu ] || need+=(gcc-aarch64-linux-gnu)
  [ -f /usr/aarch64-linux-gnu/lib/libc.so ] || need+=(libc6-dev-arm64-cross)
  command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
fi
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

# Prometheus, for the exporter tests that have it scrape the exporter. The tests start their own on a
# loopback port with storage in a temporary directory; the system service must not run. Debian's postinst
# enables it and starts it (invoke-rc.d without systemd, deb-systemd-invoke with it, both of which ask
# policy-rc.d), so the install runs under a policy-rc.d that refuses starts (unless the machine has its own),
# and the service is disabled, and stopped if it runs anyway.
if ! command -v prometheus >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing prometheus (no service)" >&2
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\n# scripts/setup.sh: no service starts while it installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      own_policy=1
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq >/dev/null
    # No recommends: they would bring prometheus-node-exporter, another service.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
      echo "setup: could not install prometheus; the Prometheus tests will skip" >&2
    fi
    if [ "$own_policy" = 1 ]; then
      rm -f /usr/sbin/policy-rc.d
      trap - EXIT
    fi
    if [ -x /etc/init.d/prometheus ]; then
      if [ -d /run/systemd/system ]; then
        systemctl disable --now prometheus.service >/dev/null 2>&1 || true
      else
        update-rc.d prometheus disable >/dev/null 2>&1 || true
        if /etc/init.d/prometheus status >/dev/null 2>&1; then
          /etc/init.d/prometheus stop >/dev/null || echo "setup: the prometheus service is running and could not be stopped" >&2
        fi
      fi
    fi
  else
    echo "setup: prometheus is missing and cannot be installed (not root or no apt-get); the Prometheus tests will skip" >&2
  fi
fi

if [ "$(id -u)" = 0 ] && [ -d /sys/fs/bpf ] && [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
  mount -t bpf bpf /sys/fs/bpf || echo "setup: could not mount bpffs at /sys/fs/bpf; pin tests will skip" >&2
fi
