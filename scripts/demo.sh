#!/usr/bin/env bash
# The README's main job: builds bpfmap and runs its demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build src/BpfMaps.Cli/BpfMaps.Cli.csproj -c Release -nologo -v q -clp:ErrorsOnly
exec dotnet src/BpfMaps.Cli/bin/Release/net10.0/bpfmap.dll demo "$@"
