#!/usr/bin/env bash
# Regenerates the checked-in Python code from proto/shipnotify/v1/*.proto with the
# protoc pinned in pyproject.toml (grpcio-tools). Usage: proto/generate.sh [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../services}
python -m grpc_tools.protoc -I "$here" --python_out="$out" --pyi_out="$out" "$here"/shipnotify/v1/*.proto
