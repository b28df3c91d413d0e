#!/usr/bin/env bash
# Spark GPU resource discovery for llm-batch executors.
#
# Spark runs this on each executor (spark.executor.resource.gpu.discoveryScript) and reads one
# JSON object from stdout: {"name": "gpu", "addresses": ["0", "1", ...]}. Addresses are CUDA device
# ordinals as the executor JVM sees them; llm-batch places each task's model on "gpu:<address>".
#
# When CUDA_VISIBLE_DEVICES restricts the executor (YARN/Kubernetes device plugins do), the
# visible devices are renumbered 0..n-1 inside the process, so those ordinals are printed.
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-discovery.sh: nvidia-smi not found on PATH; install the NVIDIA driver or drop the gpu resource" >&2
  exit 1
fi

if ! indices=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null); then
  echo "gpu-discovery.sh: nvidia-smi failed; is the NVIDIA driver loaded?" >&2
  exit 1
fi
count=$(printf '%s\n' "$indices" | grep -cE '^[[:space:]]*[0-9]+[[:space:]]*$' || true)

if [[ -n "${CUDA_VISIBLE_DEVICES:-}" && "${CUDA_VISIBLE_DEVICES}" != "all" ]]; then
  IFS=',' read -r -a visible <<< "${CUDA_VISIBLE_DEVICES}"
  n=${#visible[@]}
  if (( n > count )); then n=$count; fi
  ordinals=$(seq 0 $((n - 1)) 2>/dev/null || true)
else
  ordinals=$(printf '%s\n' "$indices" | grep -oE '[0-9]+' || true)
fi

json=""
for o in $ordinals; do
  json+="${json:+, }\"$o\""
done
echo "{\"name\": \"gpu\", \"addresses\": [${json}]}"
