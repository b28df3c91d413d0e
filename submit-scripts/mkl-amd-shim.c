/*
 * Opt-in workaround for oneMKL's CPU dispatch on AMD: MKL (statically inside libtorch_cpu.so, but
 * with this symbol exported) asks mkl_serv_intel_cpu_true() whether it runs on an Intel CPU and,
 * on AMD, falls back to AVX2 kernels even where AVX-512 is present. Preloading this definition
 * makes it pick its AVX-512 sgemm: measured ~2x libtorch sgemm on the 2-core AMD EPYC (see
 * docs/benchmarks.md, "Decoder forward"). Build: gcc -O2 -shared -fPIC -o libmklamdshim.so
 * mkl-amd-shim.c ; use: LD_PRELOAD=/path/libmklamdshim.so (set before the JVM starts).
 *
 * Both symbols are needed (checked with MKL_VERBOSE=1 on the AMD EPYC, oneMKL 2024.0 Update 2):
 * mkl_serv_intel_cpu_true alone leaves "Intel(R) Architecture processors" (generic kernels);
 * mkl_serv_intel_cpu alone (called through libtorch_cpu.so's PLT) gives the SSE2 path; the two
 * together give "Intel(R) AVX-512 with support of Intel(R) DL Boost and bfloat16".
 * MKL_ENABLE_INSTRUCTIONS=AVX512, MKL_DEBUG_CPU_TYPE=5 and MKL_CBWR=AVX512 change nothing.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
int mkl_serv_intel_cpu(void) { return 1; }
