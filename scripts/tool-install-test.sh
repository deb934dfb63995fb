#!/usr/bin/env bash
# The tool package's install path, as a user meets it: packs the pointer package, the NativeAOT package for
# this machine's RID and the framework-dependent `any` fallback into a temporary folder, installs `bpfmap`
# from that folder alone into a temporary tool path, checks that the installed command is the native binary,
# and has it show and dump a real map, whose JSON must equal the build output's (bin/Release). The `any`
# package's bpfmap.dll is run under `dotnet` against the same map too. Needs root (bpf) and the Release build.
# Prints "tool-install: ok" and exits 0, or says what differed and exits 1.
# Usage: scripts/tool-install-test.sh [--keep DIR]  (--keep: leave the packages in DIR, for bench --aot/--fallback)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

keep=""
if [ "${1:-}" = "--keep" ]; then keep="$2"; fi

rid=$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')
case "$rid" in
  linux-x64|linux-arm64) ;;
  *) echo "tool-install: no NativeAOT package for $rid; skipped" >&2; exit 0 ;;
esac

tmp=$(mktemp -d /tmp/bpfmap-tool-XXXXXX)
pin=/sys/fs/bpf/bpfmap-tool-test-$$
cleanup() { rm -f "$pin"; rm -rf "$tmp"; }
trap cleanup EXIT

pkg="$tmp/pkg"
log="$tmp/pack.log"
q=(-c Release -nologo -v q -clp:ErrorsOnly -o "$pkg")
# Three packs, as docs/core/tools/rid-specific-tools describes for a hybrid AOT tool: the pointer package,
# the AOT package of this RID, and the `any` package without AOT.
dotnet pack src/BpfMaps.Cli "${q[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
dotnet pack src/BpfMaps.Cli "${q[@]}" -r "$rid" >>"$log" 2>&1 || { cat "$log"; exit 1; }
dotnet pack src/BpfMaps.Cli "${q[@]}" -r any -p:PublishAot=false >>"$log" 2>&1 || { cat "$log"; exit 1; }
ls "$pkg"/bpfmap.*.nupkg >/dev/null
# On x64, the linux-arm64 NativeAOT package too, cross-compiled (Directory.Build.targets): a user on arm64 installs it.
cross=""
if [ "$rid" = linux-x64 ] && command -v aarch64-linux-gnu-objcopy >/dev/null && command -v clang-14 >/dev/null \
  && command -v file >/dev/null && [ -d /usr/lib/gcc-cross/aarch64-linux-gnu ] && [ -f /usr/aarch64-linux-gnu/lib/libc.so ]; then
  cross=linux-arm64
  dotnet pack src/BpfMaps.Cli "${q[@]}" -r "$cross" >>"$log" 2>&1 || { cat "$log"; exit 1; }
fi

# Only the local folder as a source, and a package cache of its own: a package of the same version
# installed earlier (NuGet caches by id and version) must not stand in for the one just packed.
cat >"$tmp/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$pkg" />
  </packageSources>
</configuration>
EOF
NUGET_PACKAGES="$tmp/nuget" dotnet tool install bpfmap --tool-path "$tmp/tools" --configfile "$tmp/nuget.config" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; exit 1; }

installed="$tmp/tools/bpfmap"
target=$(readlink -f "$installed")
case "$target" in
  */bpfmap.$rid/*) ;;
  *) echo "tool-install: installed $target, not the $rid package" >&2; exit 1 ;;
esac
if ! head -c 4 "$target" | grep -q $'\x7fELF'; then
  echo "tool-install: $target is not a native executable" >&2; exit 1
fi
if [ -e "$(dirname "$target")/bpfmap.dll" ]; then
  echo "tool-install: the $rid package holds bpfmap.dll; it should be the NativeAOT binary alone" >&2; exit 1
fi

built=(dotnet "$root/src/BpfMaps.Cli/bin/Release/net10.0/bpfmap.dll")
# The any package is what machines without a package of their own install; run its bpfmap.dll as they would.
unzip -q -o "$pkg"/bpfmap.any.*.nupkg -d "$tmp/any"
fallback_dll=$(find "$tmp/any" -name bpfmap.dll | head -1)
[ -n "$fallback_dll" ] || { echo "tool-install: the any package holds no bpfmap.dll" >&2; exit 1; }
fallback=(dotnet "$fallback_dll")
# The any package is compiled ReadyToRun (ReadyToRunAny.targets): its assemblies carry the READYTORUN header ("RTR").
for dll in "$fallback_dll" "$(dirname "$fallback_dll")/bpfmap-exporter.dll" "$(dirname "$fallback_dll")/BpfMaps.dll"; do
  if ! python3 -c 'import sys; sys.exit(0 if b"RTR\x00" in open(sys.argv[1], "rb").read() else 1)' "$dll"; then
    echo "tool-install: $(basename "$dll") in the any package is not ReadyToRun" >&2; exit 1
  fi
done

"${built[@]}" create "$pin" type hash key 4 value 8 entries 64 name tool_test >/dev/null
for i in 1 2 3 250; do
  "${built[@]}" update pinned "$pin" key $i 0 0 0 value $i 0 0 0 0 0 0 7 >/dev/null
done

fail=0
for cmd in "-j dump pinned $pin" "-j show pinned $pin" "dump pinned $pin" "--format csv dump pinned $pin"; do
  # shellcheck disable=SC2086
  want=$("${built[@]}" $cmd)
  for who in installed fallback; do
    if [ "$who" = installed ]; then run=("$installed"); else run=("${fallback[@]}"); fi
    # shellcheck disable=SC2086
    got=$("${run[@]}" $cmd)
    if [ "$got" != "$want" ]; then
      echo "tool-install: bpfmap $cmd: the $who tool wrote something else than the build output" >&2
      diff <(echo "$want") <(echo "$got") | head -20 >&2 || true
      fail=1
    fi
  done
done
[ "$fail" = 0 ] || exit 1

# export runs bpfmap-exporter from bpfmap's directory: the installed native one must be there and runnable
# (NuGet keeps no file modes), and the any package's must run under dotnet. A bad config proves it ran: only
# the exporter reads the file, and it answers with its own exit code 12 and the field it did not know.
echo '{ "maps": [ { "map": "id 1", "bogus": 1 } ] }' >"$tmp/bad.json"
for who in installed fallback; do
  if [ "$who" = installed ]; then run=("$installed"); else run=("${fallback[@]}"); fi
  set +e
  err=$("${run[@]}" export --config "$tmp/bad.json" 2>&1 >/dev/null)
  code=$?
  set -e
  if [ "$code" != 12 ] || [[ "$err" != *"maps[0].bogus: unknown field"* ]]; then
    echo "tool-install: the $who tool's export did not run the exporter (exit $code): $err" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1

# The cross-compiled package: both executables for the other architecture, and, where qemu-user can run
# them, bpfmap's version line equal to the build output's and the exporter's exit code 12 for a bad config.
if [ -n "$cross" ]; then
  unzip -q -o "$pkg"/bpfmap."$cross".*.nupkg -d "$tmp/$cross"
  for exe in bpfmap bpfmap-exporter; do
    f=$(find "$tmp/$cross" -name "$exe" -type f | head -1)
    [ -n "$f" ] || { echo "tool-install: the $cross package holds no $exe" >&2; exit 1; }
    file "$f" | grep -q 'ARM aarch64' || { echo "tool-install: $exe in the $cross package is not an arm64 executable: $(file -b "$f")" >&2; exit 1; }
    chmod +x "$f"
  done
  if command -v qemu-aarch64 >/dev/null; then
    arm=(qemu-aarch64 -L /usr/aarch64-linux-gnu "$(find "$tmp/$cross" -name bpfmap -type f | head -1)")
    if [ "$("${arm[@]}" --version)" != "$("${built[@]}" --version)" ]; then
      echo "tool-install: the $cross bpfmap under qemu printed another version: $("${arm[@]}" --version 2>&1)" >&2; exit 1
    fi
    # The exporter directly: bpfmap export's execv would ask the host kernel to run an arm64 file, which
    # qemu-user cannot intercept without binfmt_misc.
    set +e
    err=$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$(find "$tmp/$cross" -name bpfmap-exporter -type f | head -1)" --config "$tmp/bad.json" 2>&1 >/dev/null)
    code=$?
    set -e
    if [ "$code" != 12 ] || [[ "$err" != *"maps[0].bogus: unknown field"* ]]; then
      echo "tool-install: the $cross bpfmap-exporter under qemu did not answer a bad config with exit 12 (exit $code): $err" >&2; exit 1
    fi
    cross_note="; the $cross package's binaries run under qemu"
  else
    cross_note="; the $cross package holds arm64 executables (no qemu-aarch64 to run them)"
  fi
fi

if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$pkg"/*.nupkg "$keep"/
  mkdir -p "$keep/any" && unzip -q -o "$pkg"/bpfmap.any.*.nupkg -d "$keep/any"
  mkdir -p "$keep/$rid" && unzip -q -o "$pkg"/bpfmap."$rid".*.nupkg -d "$keep/$rid"
  find "$keep/$rid" \( -name bpfmap -o -name bpfmap-exporter \) -type f -exec chmod +x {} +  # zip keeps no modes
  echo "tool-install: packages in $keep; bench --aot $(find "$keep/$rid" -name bpfmap -type f | head -1) --fallback $(find "$keep/any" -name bpfmap.dll | head -1)" >&2
fi
echo "tool-install: ok ($(basename "$target") from bpfmap.$rid, native, with bpfmap-exporter beside it; the any package's bpfmap.dll agrees too${cross_note:-})"
