#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript): prints the GPUs this
# executor may use as {"name": "gpu", "addresses": ["0", "1", ...]}. Honours CUDA_VISIBLE_DEVICES.
set -euo pipefail
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
  ids="$CUDA_VISIBLE_DEVICES"
elif command -v nvidia-smi >/dev/null 2>&1; then
  ids="$(nvidia-smi --query-gpu=index --format=csv,noheader | paste -sd, -)"
else
  ids=""
fi
addresses=""
IFS=',' read -ra parts <<< "$ids"
for p in "${parts[@]}"; do
  p="${p// /}"
  [[ -z "$p" ]] && continue
  addresses+="${addresses:+,}\"$p\""
done
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
