# Sourced by the launchers (llm-batch, bench, submit-common.sh): on an AMD CPU, preloads
# submit-scripts/mkl-amd-shim.c so that libtorch's oneMKL takes its AVX-512 kernels instead of
# its AVX2 ones (~2x sgemm here; docs/benchmarks.md, "Why libtorch's sgemm is slow").
#
#   LLM_BATCH_MKL_AMD_SHIM=auto (default)  on when /proc/cpuinfo says AuthenticAMD and gcc exists
#   LLM_BATCH_MKL_AMD_SHIM=1               on (fails if it cannot be built)
#   LLM_BATCH_MKL_AMD_SHIM=0               off
# The library is compiled once into ${LLM_BATCH_CACHE:-~/.cache/llm-batch}/native/. LD_PRELOAD
# must be set before the JVM starts, which is why this lives in the launchers, not in Java.
mkl_amd_shim() {
  local mode="${LLM_BATCH_MKL_AMD_SHIM:-${MKL_AMD_SHIM:-auto}}"
  local src dir lib
  [[ "$mode" == 0 || "$mode" == off ]] && return 0
  if [[ "$mode" == auto ]]; then
    grep -q '^vendor_id[[:space:]]*:[[:space:]]*AuthenticAMD' /proc/cpuinfo 2>/dev/null || return 0
    command -v gcc >/dev/null 2>&1 || {
      echo "llm-batch: AMD CPU without gcc: libtorch's oneMKL stays on its AVX2 kernels (about half" \
        "the matmul speed); install gcc or set LLM_BATCH_MKL_AMD_SHIM=0 to silence this" >&2
      return 0
    }
  fi
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mkl-amd-shim.c"
  dir="${LLM_BATCH_CACHE:-$HOME/.cache/llm-batch}/native"
  lib="$dir/libmklamdshim-$(cksum < "$src" | cut -d' ' -f1).so"
  if [[ ! -f "$lib" ]]; then
    { mkdir -p "$dir" && gcc -O2 -shared -fPIC -o "$lib.tmp.$$" "$src" \
        && mv -f "$lib.tmp.$$" "$lib"; } || {
      echo "llm-batch: cannot build $src with gcc into $dir (LLM_BATCH_MKL_AMD_SHIM=$mode)" >&2
      rm -f "$lib.tmp.$$"
      [[ "$mode" == auto ]] && return 0 || return 1
    }
  fi
  case ":${LD_PRELOAD:-}:" in
    *":$lib:"*) ;;
    *) export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" ;;
  esac
  export LLM_BATCH_MKL_AMD_SHIM_LIB="$lib"
}
