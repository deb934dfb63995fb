#!/usr/bin/env bash
# The README's main job: builds bpfmap and runs its demo (BPF writers on every CPU, a live watch of
# the double-buffered counter map, and the closing reconciliation line). Extra arguments go to demo,
# e.g. scripts/demo.sh --seconds 20.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! log=$(dotnet build src/BpfMaps.Cli/BpfMaps.Cli.csproj -c Release -nologo -v q -clp:ErrorsOnly 2>&1); then
  echo "$log" >&2
  exit 1
fi
exec dotnet src/BpfMaps.Cli/bin/Release/net10.0/bpfmap.dll demo "$@"
