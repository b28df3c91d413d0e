/*
 * Opt-in workaround for oneMKL's CPU dispatch on AMD: MKL (statically inside libtorch_cpu.so, but
 * with this symbol exported) asks mkl_serv_intel_cpu_true() whether it runs on an Intel CPU and,
 * on AMD, falls back to AVX2 kernels even where AVX-512 is present. Preloading this definition
 * makes it pick its AVX-512 sgemm: measured ~2x libtorch sgemm on the 2-core AMD EPYC (see
 * docs/benchmarks.md, "Decoder forward"). Build: gcc -O2 -shared -fPIC -o libmklamdshim.so
 * mkl-amd-shim.c ; use: LD_PRELOAD=/path/libmklamdshim.so (set before the JVM starts).
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
