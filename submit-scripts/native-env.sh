# Sourced by the launchers (llm-batch, bench, submit-common.sh): the process environment libtorch
# runs fastest in. All of it must be set before the JVM starts, hence the launchers, not Java.
# native_env does it all: it also preloads the oneMKL AMD shim (mkl-amd-shim.sh).
#
# 1. glibc malloc settings under which libtorch's large temporaries are reused instead of being
# handed back to the kernel after every op. With glibc's defaults, a tensor above 32 MiB is mmap'd and munmap'd each time, per-thread
# heaps are deleted once empty, and posix_memalign leaves small tcache'd chunks that keep freed
# blocks from coalescing, so every forward page-faults its activations back in: a fresh page costs
# ~14 us on the VM we measure on (docs/benchmarks.md, "Page faults"), 2.8x the time of a whole
# all-MiniLM-L6-v2 pass. These make the process keep its peak native working set instead:
#   arena_max=1       one heap (brk) that glibc never deletes, for every thread
#   mmap_max=0        large blocks come from that heap too, not from mmap
#   trim_threshold    the heap is never trimmed back to the kernel
#   tcache_count=0    freed blocks coalesce, so a same-sized tensor reuses the same pages
#   hugetlb=1         the heap is madvise'd for transparent huge pages (2 MiB faults, fewer TLB misses)
#
#   LLM_BATCH_MALLOC_TUNABLES=auto (default)  on under glibc (Linux)
#   LLM_BATCH_MALLOC_TUNABLES=0                off (glibc's defaults)
# A key already in GLIBC_TUNABLES keeps its value. Spark executors on other hosts get it from
# spark.executorEnv.GLIBC_TUNABLES (the submit-* wrappers pass it; conf/spark-defaults-cpu.conf).
#
# 2. On AMD CPUs, ATEN_CPU_CAPABILITY=avx2: libtorch's own elementwise kernels (softmax, GELU,
# norms; not the matmuls, which are oneMKL's) in their AVX2 build. On the AMD EPYC VM we measure
# on, about one process in three ran the AVX-512 build of the vectorised exp ~10x slower for its
# whole life, which made attention's softmax the largest cost of an embeddings pass; under AVX2 no
# run did (docs/benchmarks.md, "Page faults and the slow exp"). A value the caller set is kept;
# LLM_BATCH_ATEN_AVX2=0 leaves libtorch's own choice.
#
# 3. LLM_BATCH_JVM_THP: "-XX:+UseTransparentHugePages" when the kernel offers transparent huge pages
# (always or madvise), for the launchers to add to the JVM's flags. The Java heap's young generation
# grows page by page at first; every new 4 KiB page costs a fault (~14 us here) and a decode step
# took 30-120 of them for hundreds of steps (a tiny model's step 2.3 -> 1.6 ms without them). With
# huge pages the heap faults 2 MiB at a time. Empty when the kernel has no THP, where the flag would
# only print a JVM warning; LLM_BATCH_JAVA_THP=0 leaves it out.
# shellcheck source=mkl-amd-shim.sh
source "$(dirname "${BASH_SOURCE[0]}")/mkl-amd-shim.sh"

LLM_BATCH_GLIBC_TUNABLES="glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776:glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1"

native_env() {
  mkl_amd_shim || return 1
  malloc_tunables
  LLM_BATCH_JVM_THP=""
  if [[ "${LLM_BATCH_JAVA_THP:-auto}" != 0 ]] \
      && grep -qE '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
    LLM_BATCH_JVM_THP="-XX:+UseTransparentHugePages"
  fi
  if [[ "${LLM_BATCH_ATEN_AVX2:-auto}" != 0 && -z "${ATEN_CPU_CAPABILITY:-}" ]] \
      && grep -q '^vendor_id[[:space:]]*:[[:space:]]*AuthenticAMD' /proc/cpuinfo 2>/dev/null; then
    export ATEN_CPU_CAPABILITY=avx2
  fi
}

malloc_tunables() {
  local mode="${LLM_BATCH_MALLOC_TUNABLES:-auto}" merged="${GLIBC_TUNABLES:-}" kv
  [[ "$mode" == 0 || "$mode" == off ]] && return 0
  [[ "$(uname -s 2>/dev/null)" == Linux ]] || return 0
  local IFS=:
  for kv in $LLM_BATCH_GLIBC_TUNABLES; do
    case ":$merged:" in
      *":${kv%%=*}="*) ;; # the user's value wins
      *) merged="${merged:+$merged:}$kv" ;;
    esac
  done
  export GLIBC_TUNABLES="$merged"
}
