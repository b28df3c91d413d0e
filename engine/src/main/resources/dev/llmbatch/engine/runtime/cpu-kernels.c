/*
 * JNI side of dev.llmbatch.engine.runtime.CpuKernels: float32 kernels for the CPU, each one call
 * where libtorch through DJL takes several ops.
 *
 * Attention, fused (scores, mask, softmax and the weighted sum of values per query block, in
 * cache-sized scratch), over ragged sequences with no padding and keys read in place (an
 * encoder's fused qkv rows, or a decoder's KV cache, into which it first writes the step's new
 * keys and values, rotated). One work item is one sequence's one KV head. With many queries (a
 * prefill chunk, an encoder sequence) its keys are transposed once into scratch and scored 16 at
 * a time per FMA; with few (a decode row's group of heads) each key row is dotted with them
 * directly. Items are shared out over the OpenMP team of the libgomp that libtorch itself loaded
 * (bound with dlsym, so the JVM holds one OpenMP runtime, not two), or run on the calling thread.
 *
 * RMSNorm, LayerNorm of a residual sum, GELU (in place) and silu(gate)·up, row by row.
 *
 * Compiled on first use by CpuKernels (gcc -O3 -march=native, the JDK's jni.h) into the
 * llm-batch native cache; the library's name carries the CPU it was built for. Vector code uses
 * GCC's generic vectors, which become AVX-512, AVX2 or SSE as the CPU allows (the key transpose
 * uses AVX-512 gathers where present).
 */
#include <jni.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
/* The packed GEMM and the layer stack are built with AVX-512, or with AVX2, FMA and F16C */
#if defined(__AVX512F__)
#define HAVE_GEMM 512
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define HAVE_GEMM 256
#endif
#if defined(HAVE_GEMM) || defined(__AVX2__)
#include <immintrin.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef float v16 __attribute__((vector_size(64), aligned(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef int32_t i16 __attribute__((vector_size(64), aligned(64)));

enum { W = 16, QB = 8 }; /* lanes; queries scored together against one key block */

/* Attention's arrays of accumulators hold vw vectors of VL lanes: a v16, or with AVX2 (no
 * AVX-512) an 8-lane half of one, since GCC kept an array of two-register v16s in memory and
 * moved each through general registers around every FMA (a copy of prefill's scoring loop: 474
 * instructions against 120). The sums run in the same order either way, so the same bits. */
#if !defined(__AVX512F__) && defined(__AVX2__)
#define ATTEND_HALVES 1
typedef float vw __attribute__((vector_size(32), aligned(32)));
typedef float vwu __attribute__((vector_size(32), aligned(4)));
#else
typedef v16 vw;
typedef v16u vwu;
#endif
enum { VL = (int) (sizeof(vw) / sizeof(float)), HW = W / VL }; /* lanes; vws a 16-float block */

typedef void (*gomp_parallel_fn)(void (*fn)(void *), void *data, unsigned threads, unsigned flags);
static gomp_parallel_fn gomp_parallel;
static int (*gomp_thread_num)(void); /* omp_get_thread_num of the same libgomp, or null */
static int (*gomp_num_threads)(void); /* its omp_get_num_threads, or null */

enum { MAX_TEAM = 64 };

/* Work items [0, total) shared by a team: each thread owns one contiguous segment, walks it from
 * its front, then helps the busiest other segment from its back, an item at a time, so the team
 * ends within about one item of each other (a thread that starts late or is preempted costs an
 * item, not a share), while each thread knows the item it will most likely take next. */
struct share {
  long total;
  int team;   /* threads, one segment each */
  int joined; /* threads started so far (where the thread number is not known) */
  /* per segment, items taken: from its front (low 32 bits, by its owner) and from its back
   * (high 32 bits, by threads done with their own) */
  uint64_t taken[MAX_TEAM];
};

static void share_init(struct share *sh, long total, int team) {
  memset(sh, 0, sizeof *sh);
  sh->total = total;
  sh->team = team < 1 ? 1 : team > MAX_TEAM ? MAX_TEAM : team;
}

/* The calling thread's segment: its OpenMP thread number, so a thread owns the same share of
 * consecutive jobs (and can fetch ahead for the next); else the order threads arrive in. −1 for
 * a thread beyond the team. */
static int share_member(struct share *sh) {
  int me = sh->team > 1 && gomp_thread_num != NULL ? gomp_thread_num()
                                                    : __atomic_fetch_add(&sh->joined, 1,
                                                                         __ATOMIC_RELAXED);
  return me < sh->team ? me : -1;
}

/* Segment s: [lo, hi). */
static inline void share_segment(const struct share *sh, int s, long *lo, long *hi) {
  *lo = sh->total * s / sh->team;
  *hi = sh->total * (s + 1) / sh->team;
}

/* Takes segment s's next item from its front (its owner) or its back (a helper); −1 when none
 * is left. */
static long share_take(struct share *sh, int s, int front) {
  long lo, hi;
  share_segment(sh, s, &lo, &hi);
  uint64_t old = __atomic_load_n(&sh->taken[s], __ATOMIC_RELAXED);
  for (;;) {
    long f = (long) (old & 0xFFFFFFFFu), b = (long) (old >> 32);
    if (lo + f + b >= hi) return -1;
    uint64_t now = old + (front ? 1u : (uint64_t) 1 << 32);
    if (__atomic_compare_exchange_n(&sh->taken[s], &old, now, 1, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      return front ? lo + f : hi - 1 - b;
    }
  }
}

/* The segment with the most items left, or −1. */
static int share_busiest(const struct share *sh) {
  int best = -1;
  long most = 0;
  for (int s = 0; s < sh->team; s++) {
    long lo, hi;
    share_segment(sh, s, &lo, &hi);
    uint64_t v = __atomic_load_n(&sh->taken[s], __ATOMIC_RELAXED);
    long left = hi - lo - (long) (v & 0xFFFFFFFFu) - (long) (v >> 32);
    if (left > most) {
      most = left;
      best = s;
    }
  }
  return best;
}

/* The calling thread's part of the work: its own segment front to back, then the busiest other
 * segment from its back, an item at a time; `item` runs item t while the one this thread expects
 * to take next (−1: none) can be fetched ahead, and returns nonzero to stop the whole team (set
 * in *stop; null: never). */
static void share_walk(struct share *sh, int (*item)(void *ctx, long t, long next), void *ctx,
                       int *stop) {
  int me = share_member(sh);
  if (me < 0) return;
  long lo, hi;
  share_segment(sh, me, &lo, &hi);
  for (long t; (stop == NULL || !__atomic_load_n(stop, __ATOMIC_RELAXED))
               && (t = share_take(sh, me, 1)) >= 0;) {
    if (item(ctx, t, t + 1 < hi ? t + 1 : -1) != 0) {
      __atomic_store_n(stop, 1, __ATOMIC_RELAXED);
      return;
    }
  }
  for (int s; (stop == NULL || !__atomic_load_n(stop, __ATOMIC_RELAXED))
              && (s = share_busiest(sh)) >= 0;) {
    long t = share_take(sh, s, 0);
    if (t < 0) continue;
    long slo, shi;
    share_segment(sh, s, &slo, &shi);
    if (item(ctx, t, t - 1 >= slo ? t - 1 : -1) != 0) {
      __atomic_store_n(stop, 1, __ATOMIC_RELAXED);
      return;
    }
  }
}

/* A direct buffer's address, or null for a null buffer. */
static float *address(JNIEnv *env, jobject buffer) {
  return buffer == NULL ? NULL : (float *) (*env)->GetDirectBufferAddress(env, buffer);
}

struct job {
  const float *q;
  float *k, *v; /* written only when fresh */
  float *out;
  int fresh;                 /* q rows also hold each new token's k and v: rotate and write them */
  const float *cos, *sin;    /* per token (rot), sin with its first half negated; or null */
  int rot;                   /* rotary dims (the first rot of each head) */
  long q_stride, out_stride; /* floats between consecutive tokens */
  long kv_row, kv_head;      /* floats between consecutive keys; between KV heads */
  int heads, kv_heads, dim, causal, window;
  float scale, softcap;
  int seqs;
  const jint *first, *count, *pos0; /* per sequence: first token in q/out, new tokens, position */
  const jlong *kv_base;             /* per sequence: offset of its head-0 key 0 in k and v */
  struct share share; /* the items: every sequence's every KV head */
  int failed;         /* set when an item ran out of scratch memory: everyone stops */
  const float *q_norm, *k_norm; /* per-head RMSNorm gains (dim) of queries and new keys, or null */
  float qk_eps;
  const char *then; /* the packed weight the heads' output is multiplied by next, or null */
  int then_rows;    /* that GEMM's rows (the step's tokens) */
};

static inline v16 splat(float x) {
  return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; /* one broadcast */
}
/* a > b and a >= b lane by lane (all ones or 0, false where either is NaN), and the larger of a
 * and b (b where they tie or either is NaN). Without AVX-512, GCC lowers a 16-lane float compare
 * to 16 scalar compares and branches (objdump: vcomiss, cmov, vpinsrd a lane), so with AVX2 these
 * run as two 8-lane instructions each: perf had put 15% of decode attention's time on vmax alone,
 * and 12 layers of it at 32 rows ran 3.8–4.0 instead of 4.2–4.4 ms (docs/benchmarks.md, session
 * 26). */
#if !defined(__AVX512F__) && defined(__AVX2__)
union v16_halves {
  v16 v;
  i16 i;
  __m256 h[2];
};
static inline i16 vcmp(v16 a, v16 b, int ge) {
  union v16_halves x = {a}, y = {b}, r;
  for (int k = 0; k < 2; k++) {
    r.h[k] = ge ? _mm256_cmp_ps(x.h[k], y.h[k], _CMP_GE_OQ)
                : _mm256_cmp_ps(x.h[k], y.h[k], _CMP_GT_OQ);
  }
  return r.i;
}
static inline v16 vmax(v16 a, v16 b) {
  union v16_halves x = {a}, y = {b}, r;
  for (int k = 0; k < 2; k++) r.h[k] = _mm256_max_ps(x.h[k], y.h[k]); /* a > b ? a : b */
  return r.v;
}
#else
static inline i16 vcmp(v16 a, v16 b, int ge) { return ge ? a >= b : a > b; }
static inline v16 vmax(v16 a, v16 b) {
  i16 m = a > b;
  return (v16)(((i16) a & m) | ((i16) b & ~m));
}
#endif
static inline i16 vgt(v16 a, v16 b) { return vcmp(a, b, 0); }
static inline i16 vge(v16 a, v16 b) { return vcmp(a, b, 1); }
static inline float hmax(v16 a) {
  float m = a[0];
  for (int i = 1; i < W; i++) m = a[i] > m ? a[i] : m;
  return m;
}
static inline float hsum(v16 a) {
  float s = 0;
  for (int i = 0; i < W; i++) s += a[i];
  return s;
}

/* r[i] = Σ lanes of t[i], for 16 vectors: a tree of pairwise shuffles and adds. */
#ifdef ATTEND_HALVES
/* With AVX2 the generic tree's two-register shuffles were scalarised by GCC (~1000 lane moves a
 * decode dot block); here the same tree on halves: given f[i] = the low half of t[i] + its high
 * half (the tree's first step), the same pairs added in the same order, into r's 16 floats. */
static inline void sum16_folded(const __m256 *f, float scale, float *r) {
  for (int g = 0; g < 2; g++) {
    const __m256 *p = f + 8 * g;
    __m256 a[4], b[2];
    for (int k = 0; k < 4; k++) { /* j + j+4: lanes 0-3 of p[2k], 4-7 of p[2k+1] */
      a[k] = _mm256_add_ps(_mm256_permute2f128_ps(p[2 * k], p[2 * k + 1], 0x20),
                           _mm256_permute2f128_ps(p[2 * k], p[2 * k + 1], 0x31));
    }
    for (int k = 0; k < 2; k++) { /* j + j+2 within each 4 */
      b[k] = _mm256_add_ps(_mm256_shuffle_ps(a[2 * k], a[2 * k + 1], 0x44),
                           _mm256_shuffle_ps(a[2 * k], a[2 * k + 1], 0xEE));
    }
    /* j + j+1: lanes p0 p2 p4 p6 | p1 p3 p5 p7, put in order */
    __m256 c = _mm256_add_ps(_mm256_shuffle_ps(b[0], b[1], 0x88), _mm256_shuffle_ps(b[0], b[1], 0xDD));
    c = _mm256_permutevar8x32_ps(c, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_store_ps(r + 8 * g, _mm256_mul_ps(c, _mm256_set1_ps(scale)));
  }
}
#endif
static inline v16 sum16(const v16 *t) {
  const i16 lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  const i16 hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  const i16 lo4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  const i16 hi4 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  const i16 lo2 = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29};
  const i16 hi2 = {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31};
  const i16 even = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  const i16 odd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
  v16 a[8], b[4], c[2];
  for (int k = 0; k < 8; k++) { /* lanes 0-7: 8 partials of t[2k]; 8-15: of t[2k+1] */
    a[k] = __builtin_shuffle(t[2 * k], t[2 * k + 1], lo8)
         + __builtin_shuffle(t[2 * k], t[2 * k + 1], hi8);
  }
  for (int k = 0; k < 4; k++) { /* 4 lanes each of t[4k .. 4k+3] */
    b[k] = __builtin_shuffle(a[2 * k], a[2 * k + 1], lo4)
         + __builtin_shuffle(a[2 * k], a[2 * k + 1], hi4);
  }
  for (int k = 0; k < 2; k++) { /* 2 lanes each of t[8k .. 8k+7] */
    c[k] = __builtin_shuffle(b[2 * k], b[2 * k + 1], lo2)
         + __builtin_shuffle(b[2 * k], b[2 * k + 1], hi2);
  }
  return __builtin_shuffle(c[0], c[1], even) + __builtin_shuffle(c[0], c[1], odd);
}

/* e^x to within ~2 ulp for x ≤ 0 down to −87.3 (Cephes' polynomial over x − n·ln 2, n the
 * nearest integer to x/ln 2, times 2^n); smaller x gives ~1e-38, the caller zeroes masked lanes. */
static inline v16 vexp_nonpositive(v16 x) {
  x = vmax(x, splat(-87.33f));
  v16 t = x * 1.44269504088896341f;
  v16 nf = (t + 12582912.0f) - 12582912.0f; /* round to nearest: 1.5·2^23 drops the fraction */
  i16 n = __builtin_convertvector(nf, i16);
  v16 r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
  v16 p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return (v16)((i16) p + (n << 23));
}

/* cap · tanh(x / cap), as Gemma 2's soft-capping: tanh(y) = sign(y) · (1 − 2 / (e^{2|y|} + 1)). */
static inline v16 vsoftcap(v16 x, float cap) {
  i16 sign = (i16) x & (i16) splat(-0.0f);
  v16 e = vexp_nonpositive((v16)((i16) x | (i16) splat(-0.0f)) * (2.0f / cap)); /* e^{−2|y|} */
  v16 mag = (1.0f - e) / (1.0f + e);                                             /* tanh |y| */
  return (v16)((i16) mag | sign) * cap;
}

/* y = x·cos + rotate_half(x)·sin over the first rot dims (HF's rotate_half form, sin with its
 * first half negated), the rest of dim copied; y may not alias x. */
static void rope(const float *x, const float *cos, const float *sin, int rot, int dim, float *y) {
  int half = rot / 2;
  for (int i = 0; i < half; i++) y[i] = x[i] * cos[i] + x[i + half] * sin[i];
  for (int i = half; i < rot; i++) y[i] = x[i] * cos[i] + x[i - half] * sin[i];
  for (int i = rot; i < dim; i++) y[i] = x[i];
}

static void rms_row(const float *x, const float *w, float *o, int n, float eps);

/* Query (or new key) `head` of token `tok`, normed when the job has q/k norms (Qwen3), rotated
 * when it has rotary, into y. */
static void load_head(const struct job *jb, long tok, long head, float *y) {
  const float *x = jb->q + tok * jb->q_stride + head * jb->dim;
  const float *w = head < jb->heads ? jb->q_norm : jb->k_norm;
  float normed[jb->dim] __attribute__((aligned(64)));
  if (w != NULL) {
    rms_row(x, w, normed, jb->dim, jb->qk_eps);
    x = normed;
  }
  if (jb->cos != NULL) {
    rope(x, jb->cos + tok * jb->rot, jb->sin + tok * jb->rot, jb->rot, jb->dim, y);
  } else {
    memcpy(y, x, (size_t) jb->dim * sizeof(float));
  }
}

/* Scratch per thread, grown as needed and kept until the thread ends: K transposed (dim × L),
 * V (L × dpad) where rows are not whole vectors, and one query block's scores and queries. */
struct scratch {
  size_t floats;
  float data[] __attribute__((aligned(64)));
};
static pthread_key_t scratch_key, stack_key; /* attention's; a layer stack's activations */
static pthread_key_t split_key;               /* the packed GEMM's split of x (PACKED_AMX) */
static pthread_key_t phases_key;              /* a layer stack's step, phase by phase */
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void make_scratch_keys(void) {
  pthread_key_create(&scratch_key, free);
  pthread_key_create(&stack_key, free);
  pthread_key_create(&split_key, free);
  pthread_key_create(&phases_key, free);
}

static float *scratch_of(const pthread_key_t *key, size_t floats) {
  pthread_once(&scratch_once, make_scratch_keys);
  struct scratch *s = (struct scratch *) pthread_getspecific(*key);
  if (s == NULL || s->floats < floats) {
    free(s);
    pthread_setspecific(*key, NULL);
    if (posix_memalign((void **) &s, 64, sizeof(struct scratch) + floats * sizeof(float)) != 0) {
      return NULL;
    }
    s->floats = floats;
    pthread_setspecific(*key, s);
  }
  return s->data;
}

static float *scratch_for(size_t floats) { return scratch_of(&scratch_key, floats); }

/* The next attention item's keys and values, fetched into L2 a few lines at a time while the
 * current item computes (pf_tick once per key row scored and once per value row summed), so the
 * memory system streams them under the arithmetic instead of in bursts that stall it. */
struct pf_stream {
  const char *k, *v;  /* the next item's key and value rows: `bytes` each, contiguous */
  long bytes, at;     /* bytes of each; bytes fetched so far (of each) */
  long step, due;     /* bytes of each to fetch per tick (a multiple of 64); fetched by now */
};

static inline void pf_tick(struct pf_stream *pf) {
  for (pf->due += pf->step; pf->at < pf->due && pf->at < pf->bytes; pf->at += 64) {
    __builtin_prefetch(pf->k + pf->at, 0, 2);
    __builtin_prefetch(pf->v + pf->at, 0, 2);
  }
}

/* For nq ≤ NQ queries: out_i[0..dim) = inv_i · Σ_{j in [lo, hi)} p_i[j] · v[j·ld ..] (rows of
 * DB·16 readable floats; p_i zero where query i does not look). The queries share each row's
 * loads, and NQ·DB independent FMA chains (8 where the shape allows) hide the FMA latency. */
#define WEIGHTED_SUM(DB, NQ)                                                                     \
  __attribute__((unused)) /* each ISA's dispatch uses some */                                  \
  static void weighted_sum_##DB##_##NQ(float *const *p, int nq, const float *v, long ld, int lo, \
                                        int hi, const float *inv, float *const *out, int dim,    \
                                        struct pf_stream *pf) {                                  \
    struct pf_stream pfl = pf != NULL ? *pf : (struct pf_stream){0}; /* in registers */          \
    for (int q0 = 0; q0 < nq; q0 += NQ) {                                                        \
      const float *pr[NQ];                                                                       \
      for (int q = 0; q < NQ; q++) pr[q] = p[q0 + q < nq ? q0 + q : q0];                         \
      vw acc[NQ][DB * HW];                                                                       \
      for (int q = 0; q < NQ; q++)                                                               \
        for (int b = 0; b < DB * HW; b++) acc[q][b] = (vw){0};                                   \
      for (int j = lo; j < hi; j++) {                                                            \
        const vwu *row = (const vwu *) (v + (long) j * ld);                                      \
        if (j + 8 < hi)                                                                          \
          for (int b = 0; b < DB; b++) __builtin_prefetch(v + (long) (j + 8) * ld + b * W, 0, 3); \
        pf_tick(&pfl);                                                                           \
        for (int b = 0; b < DB * HW; b++) {                                                      \
          vw vb = row[b];                                                                        \
          for (int q = 0; q < NQ; q++) acc[q][b] += pr[q][j] * vb;                               \
        }                                                                                        \
      }                                                                                          \
      for (int q = 0; q < NQ && q0 + q < nq; q++) {                                              \
        float tmp[DB * W] __attribute__((aligned(64)));                                          \
        for (int b = 0; b < DB * HW; b++) ((vw *) tmp)[b] = acc[q][b] * inv[q0 + q];             \
        memcpy(out[q0 + q], tmp, (size_t) dim * sizeof(float));                                  \
      }                                                                                          \
    }                                                                                            \
    if (pf != NULL) *pf = pfl;                                                                   \
  }
WEIGHTED_SUM(1, 4)
WEIGHTED_SUM(1, 8)
WEIGHTED_SUM(2, 4)
WEIGHTED_SUM(2, 8)
WEIGHTED_SUM(3, 2)
WEIGHTED_SUM(3, 3)
WEIGHTED_SUM(3, 4)
WEIGHTED_SUM(4, 2)
WEIGHTED_SUM(4, 3)
WEIGHTED_SUM(4, 4)
WEIGHTED_SUM(5, 1)
WEIGHTED_SUM(5, 2)
WEIGHTED_SUM(6, 1)
WEIGHTED_SUM(6, 2)
WEIGHTED_SUM(7, 1)
WEIGHTED_SUM(7, 2)
WEIGHTED_SUM(8, 1)
WEIGHTED_SUM(8, 2)
#ifdef ATTEND_HALVES
WEIGHTED_SUM(2, 3)
WEIGHTED_SUM(4, 1)
#endif

static void weighted_sum(float *const *p, int nq, const float *v, long ld, long dpad, int lo,
                         int hi, const float *inv, float *const *out, int dim,
                         struct pf_stream *pf) {
  /* as many of the queries as registers allow share each value row's loads: a pass per group
   * (heads of up to 32 dims: all of a block's 8 when there are more than 4, 16 chains; of 48–64
   * dims, 2–4, so a decode row's GQA group of 3 or 4 is one pass; of 80–128, 2) */
#ifdef ATTEND_HALVES
  /* with AVX2 a v16 is two of 16 registers: groups of at most 12 accumulator registers (more
   * spilled to the stack, a load and a store an FMA) */
  switch (dpad / W) {
    case 1: weighted_sum_1_4(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 2: weighted_sum_2_3(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 3: weighted_sum_3_2(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 4: weighted_sum_4_1(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 5: weighted_sum_5_1(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 6: weighted_sum_6_1(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 7: weighted_sum_7_1(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 8: weighted_sum_8_1(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    default: break;
  }
#else
  int wide = nq > 4;
  switch (dpad / W) {
    case 1:
      (wide ? weighted_sum_1_8 : weighted_sum_1_4)(p, nq, v, ld, lo, hi, inv, out, dim, pf);
      return;
    case 2:
      (wide ? weighted_sum_2_8 : weighted_sum_2_4)(p, nq, v, ld, lo, hi, inv, out, dim, pf);
      return;
    case 3:
      (nq == 3 ? weighted_sum_3_3 : nq >= 4 ? weighted_sum_3_4 : weighted_sum_3_2)(
          p, nq, v, ld, lo, hi, inv, out, dim, pf);
      return;
    case 4:
      (nq == 3 ? weighted_sum_4_3 : nq >= 4 ? weighted_sum_4_4 : weighted_sum_4_2)(
          p, nq, v, ld, lo, hi, inv, out, dim, pf);
      return;
    case 5: (nq > 1 ? weighted_sum_5_2 : weighted_sum_5_1)(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 6: (nq > 1 ? weighted_sum_6_2 : weighted_sum_6_1)(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 7: (nq > 1 ? weighted_sum_7_2 : weighted_sum_7_1)(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    case 8: (nq > 1 ? weighted_sum_8_2 : weighted_sum_8_1)(p, nq, v, ld, lo, hi, inv, out, dim, pf); return;
    default: break;
  }
#endif
  for (int q = 0; q < nq; q++) {
    float *o = out[q];
    for (int c = 0; c < dim; c++) o[c] = 0;
    for (int j = lo; j < hi; j++) {
      const float *row = v + (long) j * ld;
      for (int c = 0; c < dim; c++) o[c] += p[q][j] * row[c];
    }
    for (int c = 0; c < dim; c++) o[c] *= inv[q];
  }
}

/* kt[c·lpad + j] = k[j·ld + c] for keys j < keys, c < dim; keys..lpad zero. */
static void transpose_keys(const float *k, long ld, int keys, int dim, long lpad, float *kt) {
  int j0 = 0;
#ifdef __AVX512F__
  /* 16 keys × 16 dims at a time, in registers: four perfect shuffles of the 16 rows (each pairs
   * row i with row i + 8 and interleaves them, which rotates an element's row|column bits by one)
   * transpose the block; 4× fewer cycles than gathering each dim of 16 keys (measured: the
   * gathers were ~18% of an encoder's attention) */
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15,
                                       31);
  for (; j0 + W <= keys; j0 += W) {
    for (int c0 = 0; c0 < dim; c0 += W) {
      int cols = dim - c0 < W ? dim - c0 : W;
      __mmask16 m = cols == W ? (__mmask16) 0xFFFF : (__mmask16) ((1u << cols) - 1);
      __m512 r[W], t[W];
      for (int i = 0; i < W; i++) r[i] = _mm512_maskz_loadu_ps(m, k + (long) (j0 + i) * ld + c0);
      for (int stage = 0; stage < 4; stage++) {
        for (int i = 0; i < W / 2; i++) {
          t[2 * i] = _mm512_permutex2var_ps(r[i], lo, r[i + W / 2]);
          t[2 * i + 1] = _mm512_permutex2var_ps(r[i], hi, r[i + W / 2]);
        }
        for (int i = 0; i < W; i++) r[i] = t[i];
      }
      for (int c = 0; c < cols; c++) _mm512_store_ps(kt + (long) (c0 + c) * lpad + j0, r[c]);
    }
  }
#endif
  for (int c = 0; c < dim; c++) {
    for (int j = j0; j < keys; j++) kt[(long) c * lpad + j] = k[(long) j * ld + c];
    for (long j = keys; j < lpad; j++) kt[(long) c * lpad + j] = 0;
  }
}

/* Keys visible to the query at position p of a sequence of `keys` keys: [lo, hi). */
static inline void visible(const struct job *jb, int p, int keys, int *lo, int *hi) {
  if (!jb->causal) {
    *lo = 0;
    *hi = keys;
    return;
  }
  *hi = p + 1;
  *lo = jb->window > 0 && p - jb->window + 1 > 0 ? p - jb->window + 1 : 0;
}

/* Scores of NQ queries (dim = nb vectors each) against keys [j, j + 16) of rows ld floats
 * apart, scaled, into sc's rows (lpad apart); a key at or past `keys` scores 0. Each key's NQ dot
 * products run in registers (FMAs in dim order), then sum16 folds each query's 16 of them. */
/* the scaled lane sums of 16 vw parts into 16 floats at r */
#ifdef ATTEND_HALVES
#define SUM_PARTS(part, scale, r) sum16_folded((const __m256 *) (part), scale, r)
#else
#define SUM_PARTS(part, scale, r) (*(v16 *) (r) = sum16(part) * (scale))
#endif
typedef void (*dot_block_fn)(const float *const *, const float *, long, int, int, int, float,
                             float *, long, struct pf_stream *);
#define DOT_BLOCK(NQ)                                                                             \
  static void dot_block_##NQ(const float *const *qp, const float *k, long ld, int j, int keys,  \
                             int nb, float scale, float *sc, long lpad,                          \
                             struct pf_stream *pf) {                                             \
    struct pf_stream pfl = *pf; /* in registers */                                              \
    vw part[NQ][W]; /* each key's products, halves added (sum16's first step) where in halves */\
    for (int jj = 0; jj < W; jj++) {                                                            \
      vw acc[NQ][HW];                                                                           \
      for (int i = 0; i < NQ; i++)                                                              \
        for (int h = 0; h < HW; h++) acc[i][h] = (vw){0};                                       \
      if (j + jj < keys) {                                                                      \
        const vwu *row = (const vwu *) (k + (long) (j + jj) * ld);                              \
        for (int b = 0; b < nb; b++) {                                                          \
          for (int h = 0; h < HW; h++) {                                                        \
            vw kb = row[b * HW + h];                                                            \
            for (int i = 0; i < NQ; i++) acc[i][h] += ((const vw *) qp[i])[b * HW + h] * kb;   \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
      for (int i = 0; i < NQ; i++) {                                                            \
        part[i][jj] = acc[i][0];                                                                \
        for (int h = 1; h < HW; h++) part[i][jj] += acc[i][h];                                  \
      }                                                                                         \
      pf_tick(&pfl);                                                                            \
    }                                                                                           \
    for (int i = 0; i < NQ; i++) SUM_PARTS(part[i], scale, sc + i * lpad + j);                  \
    *pf = pfl;                                                                                  \
  }
DOT_BLOCK(1)
DOT_BLOCK(2)
DOT_BLOCK(3)
DOT_BLOCK(4)
DOT_BLOCK(5)
DOT_BLOCK(6)
DOT_BLOCK(7)
static const dot_block_fn dot_blocks[QB] = {NULL, dot_block_1, dot_block_2, dot_block_3,
                                            dot_block_4, dot_block_5, dot_block_6, dot_block_7};

/* One sequence's one KV head; 0, or −1 when scratch could not be allocated. */
static int attend_item(const struct job *jb, int item, int next) {
  int s = item / jb->kv_heads;
  int h = item % jb->kv_heads;
  int dim = jb->dim;
  int group = jb->heads / jb->kv_heads;
  int t_new = jb->count[s];
  int keys = jb->causal ? jb->pos0[s] + t_new : t_new;
  long lpad = ((long) keys + W - 1) / W * W;
  long dpad = ((long) dim + W - 1) / W * W;
  float *kt = scratch_for((size_t) dim * lpad + (size_t) lpad * dpad + (size_t) QB * lpad
                          + (size_t) QB * dpad);
  if (kt == NULL) return -1;
  float *vs = kt + (size_t) dim * lpad;
  float *sc = vs + (size_t) lpad * dpad;
  float *qs = sc + (size_t) QB * lpad; /* the block's queries, rotated */
  float *k = jb->k + jb->kv_base[s] + (long) h * jb->kv_head;
  float *v = jb->v + jb->kv_base[s] + (long) h * jb->kv_head;
  if (jb->fresh) { /* this item's KV head of the new tokens goes to the cache first */
    for (int t = 0; t < t_new; t++) {
      long tok = jb->first[s] + t;
      long row = (long) (jb->pos0[s] + t) * jb->kv_row;
      load_head(jb, tok, jb->heads + h, k + row);
      memcpy(v + row, jb->q + tok * jb->q_stride + (long) (jb->heads + jb->kv_heads + h) * dim,
             (size_t) dim * sizeof(float));
    }
  }
  int queries = group * t_new; /* query (g, t) = index g·t_new + t */
  /* Few queries (a decode row: its group's G heads): score by dot products straight from the
   * key rows. Many (a prefill chunk, an encoder sequence): transpose the keys once, then score
   * 16 keys per FMA. Dot products read past dim, so they need whole-vector rows. */
  int dot = queries < 8 && dim == dpad;
  if (!dot) transpose_keys(k, jb->kv_row, keys, dim, lpad, kt);
  /* values are read in place when a row is whole vectors, else from a zero-padded copy */
  const float *vrows = v;
  long vld = jb->kv_row;
  if (dim != dpad) {
    for (int j = 0; j < keys; j++) {
      memcpy(vs + (long) j * dpad, v + (long) j * jb->kv_row, (size_t) dim * sizeof(float));
      for (int c = dim; c < dpad; c++) vs[(long) j * dpad + c] = 0;
    }
    vrows = vs;
    vld = dpad;
  }
  struct pf_stream pf = {0};
  struct pf_stream *pfp = NULL; /* the dot path's: the next item's rows, fetched as this one runs */
  for (int q0 = 0; q0 < queries; q0 += QB) {
    int nq = queries - q0 < QB ? queries - q0 : QB;
    const float *qp[QB];
    float *op[QB];
    for (int i = 0; i < QB; i++) qp[i] = qs + (long) i * dpad;
    int lo[QB], hi[QB];
    int blo = keys, bhi = 0;
    for (int i = 0; i < QB; i++) {
      int qi = q0 + (i < nq ? i : 0);
      int g = qi / t_new, t = qi % t_new;
      long tok = jb->first[s] + t;
      long head = (long) h * group + g;
      if (i < nq) load_head(jb, tok, head, qs + (long) i * dpad);
      op[i] = jb->out + tok * jb->out_stride + head * dim;
      visible(jb, jb->pos0[s] + t, keys, &lo[i], &hi[i]);
      if (i < nq) {
        blo = lo[i] < blo ? lo[i] : blo;
        bhi = hi[i] > bhi ? hi[i] : bhi;
      }
    }
    /* scores of the block's queries over key blocks [blo, bhi) */
    int jb0 = blo / W * W;
    if (dot) {
      /* a decode item reads a few KB of keys and values each from its own place in the cache:
       * too short a stream for the hardware prefetcher to ramp up (measured: 12 layers of 32
       * rows over 86 cached tokens, 3.5 → 2.3 ms). The next item's keys and values are fetched
       * into L2 while this one runs, a few lines per key scored and per value row summed
       * (pf_tick), so it starts on cached rows. Fetching them in bursts, a block's share at a
       * time with this block's own rows as well, stalled the arithmetic behind full miss queues:
       * spread, 12 layers of 32 rows over ~104 cached tokens with a weight's worth of other reads
       * between layers (as in a step) took 2.0 instead of 2.25 ms on an AMD EPYC (session 16). */
      long ld = jb->kv_row;
      if (next >= 0) { /* (a dot item's queries are one block) */
        int s2 = next / jb->kv_heads, h2 = next % jb->kv_heads;
        long next_rows = jb->causal ? jb->pos0[s2] + jb->count[s2] : jb->count[s2];
        pf.k = (const char *) (jb->k + jb->kv_base[s2] + (long) h2 * jb->kv_head);
        pf.v = (const char *) (jb->v + jb->kv_base[s2] + (long) h2 * jb->kv_head);
        pf.bytes = next_rows * ld * (long) sizeof(float);
        /* ticks: a key row scored, a value row summed (16 per key block, hi − lo) */
        long ticks = (long) ((bhi - jb0 + W - 1) / W) * W + (bhi - blo);
        pf.step = ((pf.bytes + ticks - 1) / ticks + 63) / 64 * 64;
        pfp = &pf;
      }
      for (int j = jb0; j < bhi; j += W) {
        dot_blocks[nq]((const float *const *) qp, k, ld, j, keys, dpad / W, jb->scale, sc, lpad,
                       &pf);
      }
    }
    /* QG independent FMA chains of HW vws a query: all QB queries, or in halves 4 at a time */
    enum { QG = HW == 1 ? QB : 4 };
    for (int j = jb0; j < bhi && !dot; j += W) {
      for (int i0 = 0; i0 < QB; i0 += QG) {
        vw acc[QG][HW];
        for (int i = 0; i < QG; i++)
          for (int h = 0; h < HW; h++) acc[i][h] = (vw){0};
        for (int c = 0; c < dim; c++) {
          const vw *kv = (const vw *) (kt + (long) c * lpad + j);
          for (int h = 0; h < HW; h++)
            for (int i = 0; i < QG; i++) acc[i][h] += qp[i0 + i][c] * kv[h];
        }
        for (int i = 0; i < QG; i++)
          for (int h = 0; h < HW; h++)
            ((vw *) (sc + (i0 + i) * lpad + j))[h] = acc[i][h] * jb->scale;
      }
    }
    /* softmax of each query over the block's key range, zero outside its own keys */
    int bend = (bhi + W - 1) / W * W;
    float *rows[QB];
    float inv[QB];
    v16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < nq; i++) {
      float *row = rows[i] = sc + (long) i * lpad;
      v16 mx = splat(-3.0e38f);
      for (int j = jb0; j < bend; j += W) {
        v16 x = *(v16 *) (row + j);
        if (jb->softcap > 0) x = vsoftcap(x, jb->softcap);
        if (j < lo[i] || j + W > hi[i]) { /* a block at the edge of the query's keys */
          v16 pos = lane + (float) j;
          i16 in = vge(pos, splat((float) lo[i])) & vgt(splat((float) hi[i]), pos);
          x = (v16)(((i16) x & in) | ((i16) splat(-3.0e38f) & ~in));
        }
        *(v16 *) (row + j) = x;
        mx = vmax(mx, x);
      }
      float m = hmax(mx);
      v16 sum = splat(0);
      for (int j = jb0; j < bend; j += W) {
        v16 e = vexp_nonpositive(*(v16 *) (row + j) - m);
        if (j < lo[i] || j + W > hi[i]) {
          v16 pos = lane + (float) j;
          i16 in = vge(pos, splat((float) lo[i])) & vgt(splat((float) hi[i]), pos);
          e = (v16)((i16) e & in);
        }
        *(v16 *) (row + j) = e;
        sum += e;
      }
      inv[i] = 1.0f / hsum(sum);
    }
    weighted_sum(rows, nq, vrows, vld, dpad, blo, bhi, inv, op, dim, pfp);
  }
  return 0;
}

static int attend_one(void *ctx, long t, long next) {
  return attend_item((const struct job *) ctx, (int) t, (int) next);
}

/* Items shared by segments (share_walk), each with the next one's keys and values fetched ahead
 * (a decode item is a few KB of each from its own place in the cache, too short a stream for the
 * hardware prefetcher to ramp up). */
#ifdef HAVE_GEMM
static void gemm_prefetch_start(const char *packed, int m, int team, int me);
#endif

static void worker(void *arg) {
  struct job *jb = (struct job *) arg;
  share_walk(&jb->share, attend_one, jb, &jb->failed); /* out of memory: everyone stops */
#ifdef HAVE_GEMM
  gemm_prefetch_start(jb->then, jb->then_rows, jb->share.team,
                      jb->share.team > 1 && gomp_thread_num != NULL ? gomp_thread_num() : 0);
#endif
}

/* Shares the job's items (every sequence's every KV head) over a team of up to `threads`. */
static void attend_setup(struct job *jb, int threads) {
  long items = (long) jb->seqs * jb->kv_heads;
  int team = gomp_parallel != NULL && threads > 1 && items > 1 ? threads : 1;
  share_init(&jb->share, items, team > items ? (int) items : team);
  jb->failed = 0;
}

/* Runs a set-up attention job on its own team. 0, or −1 when scratch memory ran out. */
static int attend_launch(struct job *jb) {
  if (jb->share.team > 1) {
    gomp_parallel(worker, jb, (unsigned) jb->share.team, 0);
  } else {
    worker(jb);
  }
  return jb->failed ? -1 : 0;
}

/* Runs the job's items over a team of up to `threads`; 0, or −1 when scratch memory ran out. */
static int attend_run(struct job *jb, int threads) {
  attend_setup(jb, threads);
  return attend_launch(jb);
}

/* The job's sequences from their Java arrays (copies or pinned: read-only, released by
 * sequences_release). */
static void sequences_get(JNIEnv *env, struct job *jb, jintArray first, jintArray count,
                          jintArray pos0, jlongArray kv_base) {
  jb->seqs = (*env)->GetArrayLength(env, count);
  jb->first = (*env)->GetIntArrayElements(env, first, NULL);
  jb->count = (*env)->GetIntArrayElements(env, count, NULL);
  jb->pos0 = (*env)->GetIntArrayElements(env, pos0, NULL);
  jb->kv_base = (*env)->GetLongArrayElements(env, kv_base, NULL);
}

static void sequences_release(JNIEnv *env, struct job *jb, jintArray first, jintArray count,
                              jintArray pos0, jlongArray kv_base) {
  (*env)->ReleaseIntArrayElements(env, first, (jint *) jb->first, JNI_ABORT);
  (*env)->ReleaseIntArrayElements(env, count, (jint *) jb->count, JNI_ABORT);
  (*env)->ReleaseIntArrayElements(env, pos0, (jint *) jb->pos0, JNI_ABORT);
  (*env)->ReleaseLongArrayElements(env, kv_base, (jlong *) jb->kv_base, JNI_ABORT);
}

/* Binds libgomp's team launcher from the already loaded library at `path` (null: none, run on
 * the calling thread); returns null, or why not. */
JNIEXPORT jstring JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_bind(JNIEnv *env, jclass c,
                                                                            jstring path) {
  if (path == NULL) {
    gomp_parallel = NULL;
    gomp_thread_num = NULL;
    gomp_num_threads = NULL;
    return NULL;
  }
  const char *p = (*env)->GetStringUTFChars(env, path, NULL);
  void *h = dlopen(p, RTLD_NOW | RTLD_NOLOAD);
  (*env)->ReleaseStringUTFChars(env, path, p);
  if (h == NULL) {
    return (*env)->NewStringUTF(env, "libtorch's libgomp is not loaded in this process");
  }
  gomp_parallel = (gomp_parallel_fn) dlsym(h, "GOMP_parallel");
  gomp_thread_num = (int (*)(void)) dlsym(h, "omp_get_thread_num");
  gomp_num_threads = (int (*)(void)) dlsym(h, "omp_get_num_threads");
  if (gomp_parallel == NULL) {
    return (*env)->NewStringUTF(env, "libtorch's libgomp exports no GOMP_parallel");
  }
  return NULL;
}

/*
 * out[token, head] = softmax(scale · q·Kᵀ (soft-capped), masked) · V for every sequence's new
 * tokens; all float32 buffers, strides and offsets in floats (key j of KV head h of sequence s
 * at k + k_offset + kv_base[s] + h·kv_head + j·kv_row, its value likewise from v + v_offset).
 * fresh: q's rows are whole q|k|v projections (H, then Hkv, then Hkv heads); each new token's key
 * (rotated) and value are first written to its position of the cache. cos/sin (null: no rotary)
 * rotate the first rot dims of each query and new key. Returns 0, or −1 when scratch memory ran
 * out (nothing is then guaranteed about out).
 */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_attend(
    JNIEnv *env, jclass c, jobject q, jlong q_stride, jboolean fresh, jobject cos, jobject sin,
    jint rot, jobject k, jlong k_offset, jobject v, jlong v_offset, jlong kv_row, jlong kv_head,
    jobject out, jlong out_stride, jint heads, jint kv_heads, jint dim, jintArray first,
    jintArray count, jintArray pos0, jlongArray kv_base, jboolean causal, jint window,
    jfloat scale, jfloat softcap, jint threads) {
  struct job jb;
  memset(&jb, 0, sizeof jb);
  jb.q = address(env, q);
  jb.fresh = fresh;
  jb.cos = address(env, cos);
  jb.sin = address(env, sin);
  jb.rot = rot;
  jb.k = address(env, k) + k_offset;
  jb.v = address(env, v) + v_offset;
  jb.out = address(env, out);
  jb.q_stride = q_stride;
  jb.out_stride = out_stride;
  jb.kv_row = kv_row;
  jb.kv_head = kv_head;
  jb.heads = heads;
  jb.kv_heads = kv_heads;
  jb.dim = dim;
  jb.causal = causal;
  jb.window = window;
  jb.scale = scale;
  jb.softcap = softcap;
  sequences_get(env, &jb, first, count, pos0, kv_base);
  int rc = attend_run(&jb, threads);
  sequences_release(env, &jb, first, count, pos0, kv_base);
  return rc;
}

/* ---- Probes on the kernels' own team ----
 * Each thread runs iters iterations of 12 independent 16-lane FMA chains (enough to hide the FMA
 * latency on two ports): FLOPs 2·12·16·iters a thread. A benchmark times it (and a read of a
 * buffer far larger than the caches, read_probe) between its steps to see what the host left the
 * threads those steps run on; a probe on threads of its own would also compete with this team's
 * threads, which spin a while after each region. */
struct fma_probe {
  long iters;
  float sink[MAX_TEAM];
};

static void fma_probe_worker(void *arg) {
  struct fma_probe *pr = (struct fma_probe *) arg;
  int me = gomp_thread_num != NULL ? gomp_thread_num() : 0;
  /* 12 × 16 lanes of FMA an iteration in 12 independent chains (each its own start, so the
   * compiler cannot fold them into one), of the CPU's widest vectors: with AVX2 a v16 is two
   * registers, and 12 of them spilled to the stack (the probe read a third of the peak there),
   * so there it is 12 chains of 8 lanes, twice. */
#ifdef __AVX512F__
  typedef v16 probe_v;
  enum { PASSES = 1 };
#else
  typedef float probe_v __attribute__((vector_size(32)));
  enum { PASSES = 2 };
#endif
  probe_v m = (probe_v) {0} + 0.999999f, a = (probe_v) {0} + 1e-7f, c[12];
  for (int i = 0; i < 12; i++) c[i] = (probe_v) {0} + (1.0f + 0.001f * (float) i);
  for (long it = 0; it < pr->iters; it++) {
    for (int pass = 0; pass < PASSES; pass++) {
      for (int i = 0; i < 12; i++) c[i] = c[i] * m + a;
    }
  }
  probe_v t = c[0];
  for (int i = 1; i < 12; i++) t += c[i];
  float sum = 0;
  for (unsigned l = 0; l < sizeof t / sizeof(float); l++) sum += t[l];
  if (me >= 0 && me < MAX_TEAM) pr->sink[me] = sum;
}

/* The same for reading: each thread sums its contiguous share of floats [0, n) of x, so the team
 * streams x from wherever it is (a buffer far larger than the caches: memory). */
struct read_probe {
  const float *x;
  long n;
  int team;
  float sink[MAX_TEAM];
};

static void read_probe_worker(void *arg) {
  struct read_probe *pr = (struct read_probe *) arg;
  int me = pr->team > 1 && gomp_thread_num != NULL ? gomp_thread_num() : 0;
  if (me < 0 || me >= pr->team) return;
  long lo = pr->n * me / pr->team / W * W, hi = pr->n * (me + 1) / pr->team / W * W;
  v16 acc[4] = {splat(0), splat(0), splat(0), splat(0)};
  for (long i = lo; i + 4 * W <= hi; i += 4 * W) {
    for (int j = 0; j < 4; j++) acc[j] += *(const v16u *) (pr->x + i + j * W);
  }
  pr->sink[me] = hsum(acc[0] + acc[1] + acc[2] + acc[3]);
}

/* A probe on the team of `threads` (the calling thread alone without libgomp): FMAs (x null:
 * iters iterations a thread, fma_probe_worker) or a read of x[0, iters) (read_probe_worker).
 * Returns the seconds it took; team[0] the threads that ran it. */
JNIEXPORT jdouble JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_probe(
    JNIEnv *env, jclass c, jobject x, jlong iters, jint threads, jintArray team) {
  struct fma_probe fp;
  struct read_probe rp;
  memset(&fp, 0, sizeof fp);
  memset(&rp, 0, sizeof rp);
  fp.iters = iters;
  rp.x = address(env, x);
  rp.n = iters;
  int n = gomp_parallel != NULL && threads > 1 ? (threads < MAX_TEAM ? threads : MAX_TEAM) : 1;
  rp.team = n;
  void (*worker)(void *) = x == NULL ? fma_probe_worker : read_probe_worker;
  void *arg = x == NULL ? (void *) &fp : (void *) &rp;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (n > 1) {
    gomp_parallel(worker, arg, (unsigned) n, 0);
  } else {
    worker(arg);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  jint used = n;
  (*env)->SetIntArrayRegion(env, team, 0, 1, &used);
  return (jdouble) (t1.tv_sec - t0.tv_sec) + (jdouble) (t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

/* Rows ids[0..count) (int64) of table (rows × width floats) into out (count × width): a
 * decoder's embedding lookup without libtorch's advanced indexing (~1.7% of a 32-row step).
 * Returns -1, or the position of the first id outside [0, rows) (nothing written from it on). */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gatherRows(
    JNIEnv *env, jclass c, jobject table, jlong rows, jint width, jobject ids, jint count,
    jobject out) {
  const float *t = address(env, table);
  const int64_t *id = (const int64_t *) (*env)->GetDirectBufferAddress(env, ids);
  float *o = address(env, out);
  /* every row's lines requested before the first is copied: a decode step's rows are scattered
   * over a table the weight stream evicted, and one row at a time waited on each in turn (32 rows
   * of 768 from a file mapping: 273–283 µs, 134–186 with this; docs/benchmarks.md, session 20) */
  long bytes = (long) width * (long) sizeof(float);
  jint valid = 0;
  for (; valid < count && id[valid] >= 0 && id[valid] < rows; valid++) {
    const char *row = (const char *) (t + id[valid] * width);
    for (long b = 0; b < bytes; b += 64) __builtin_prefetch(row + b, 0, 3);
  }
  for (jint r = 0; r < valid; r++) {
    memcpy(o + (long) r * width, t + id[r] * width, (size_t) bytes);
  }
  return valid < count ? valid : -1;
}

/* ---- Greedy decoding's argmax over a logit row ---- */

/* The index of the largest of l[0..n), the lowest on ties (−0 and +0 tie); −1 − i where l[i] is the
 * row's first NaN. A pass of vector maxima (and NaN checks), then the first index holding the
 * maximum: 16 floats a comparison, where the JIT's scalar loop took ~1 ns a logit (a 32-row step
 * over a 152K vocabulary: ~5 ms). */
static jint argmax_row(const float *l, jint n) {
  jint i = 0;
  float best = -INFINITY;
  int nan = 0;
#ifdef __AVX512F__
  __m512 m = _mm512_set1_ps(-INFINITY);
  __mmask16 un = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(l + i);
    un |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    m = _mm512_max_ps(m, v);
  }
  nan = un != 0;
  best = _mm512_reduce_max_ps(m);
#endif
  for (; i < n; i++) {
    nan |= l[i] != l[i];
    best = l[i] > best ? l[i] : best;
  }
  if (nan) {
    for (i = 0; l[i] == l[i]; i++) {
    }
    return -1 - i;
  }
  i = 0;
#ifdef __AVX512F__
  __m512 b = _mm512_set1_ps(best);
  for (; i + 16 <= n; i += 16) {
    __mmask16 eq = _mm512_cmp_ps_mask(_mm512_loadu_ps(l + i), b, _CMP_EQ_OQ);
    if (eq != 0) return i + __builtin_ctz((unsigned) eq);
  }
#endif
  for (; i < n; i++) {
    if (l[i] == best) return i;
  }
  return 0; /* (n == 0) */
}

JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_argmaxRow(
    JNIEnv *env, jclass c, jfloatArray row) {
  jint n = (*env)->GetArrayLength(env, row);
  float *l = (float *) (*env)->GetPrimitiveArrayCritical(env, row, NULL);
  if (l == NULL) return -1 - n; /* out of memory: the caller takes its own loop */
  jint r = argmax_row(l, n);
  (*env)->ReleasePrimitiveArrayCritical(env, row, l, JNI_ABORT);
  return r;
}

/* ---- A temperature draw's Gumbel-max: the tokens that could still win ----
 *
 * The sampler draws argmax_i (z_i + g_i), z_i = l[i]·invT, g_i = −log(−log(u)) with u from a hash
 * of (key, i) (Sampler.drawFull). This pass keeps a threshold t that some token's exact score
 * reaches (at first `best`, the top logit's exact score; then the best approximate score found
 * less a margin) and rules a token out where it provably stays under t: its noise's largest value
 * cannot lift it there, or its hash bits are at most the sampler's table's threshold for the gap
 * (bits ≤ table[⌊(t − z)·bins⌋]: noise < t − z). A token that passes is scored here with libm's
 * logarithms (within ~1e-15 of the sampler's, in an IEEE double sum) and raises t. Left at the end:
 * the tokens whose approximate score lies within the margin of the best, which hold the winner and
 * anything tied with it; the sampler scores those exactly. 8 tokens a vector for the hash, the
 * bound and a gather of the thresholds, where the JIT's loop took ~7 ns a token. */
#define GUMBEL_GOLDEN 0x9E3779B97F4A7C15ULL

static inline uint64_t gumbel_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static inline int64_t gumbel_bits(uint64_t key, long i) {
  return (int64_t) (gumbel_mix(key + GUMBEL_GOLDEN * (uint64_t) (i + 1)) >> 11);
}

/* A margin above the approximate scores' error (~1e-15 of their size): scores that far apart
 * order the same exactly. */
static inline double gumbel_margin(double score) {
  return 1e-9 * (fabs(score) > 1 ? fabs(score) : 1);
}

struct gumbel_pass {
  const float *l;
  double inv_t;
  uint64_t key;
  const int64_t *table;
  long table_n;
  double bins, max_gumbel;
  double hi, t; /* the best score so far (exact or approximate), the threshold */
  jint *out;
  double *scores; /* the candidates' approximate scores */
  jint count, cap;
};

/* Token i, its scaled logit z, passed the cheap tests: scored, kept, and the threshold raised;
 * 0, or −1 where more than cap passed. */
static inline int gumbel_keep(struct gumbel_pass *g, long i, double z, int64_t bits) {
  if (g->count == g->cap) return -1;
  double u = ((double) bits + 0.5) * 0x1.0p-53;
  double score = z + -log(-log(u));
  g->out[g->count] = (jint) i;
  g->scores[g->count++] = score;
  if (score > g->hi) {
    g->hi = score;
    g->t = score - 2 * gumbel_margin(score);
  }
  return 0;
}

/* The scalar form of the vector loop's tests, for token i. */
static inline int gumbel_token(struct gumbel_pass *g, long i) {
  double z = (double) g->l[i] * g->inv_t;
  if (!(z + g->max_gumbel >= g->t)) return 0;
  int64_t bits = gumbel_bits(g->key, i);
  double behind = g->t - z;
  if (behind > 0) {
    long b = (long) (behind * g->bins);
    if (b < g->table_n && bits <= g->table[b]) return 0;
  }
  return gumbel_keep(g, i, z, bits);
}

/* The candidates' count, their indices ascending in out; −1 where more than cap passed. */
__attribute__((optimize("fp-contract=off"))) static jint gumbel_candidates(
    const float *l, jint n, double inv_t, uint64_t key, double best, const int64_t *table,
    long table_n, double bins, double max_gumbel, jint *out, jint cap) {
  double *scores = (double *) scratch_for((size_t) cap * 2);
  if (scores == NULL) return -1;
  struct gumbel_pass g = {l,     inv_t, key,  table, table_n, bins,   max_gumbel,
                          best,  best - 2 * gumbel_margin(best), out, scores, 0, cap};
  long i = 0;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  const __m512d vinv = _mm512_set1_pd(inv_t), vmax = _mm512_set1_pd(max_gumbel),
                vbins = _mm512_set1_pd(bins);
  const __m512i c1 = _mm512_set1_epi64((long long) 0xBF58476D1CE4E5B9ULL),
                c2 = _mm512_set1_epi64((long long) 0x94D049BB133111EBULL),
                last = _mm512_set1_epi64(table_n - 1);
  __m512i h0 = _mm512_add_epi64(
      _mm512_set1_epi64((long long) key),
      _mm512_mullo_epi64(_mm512_set1_epi64((long long) GUMBEL_GOLDEN),
                         _mm512_setr_epi64(1, 2, 3, 4, 5, 6, 7, 8)));
  const __m512i step = _mm512_set1_epi64((long long) (GUMBEL_GOLDEN * 8ULL));
  for (; i + 8 <= n; i += 8, h0 = _mm512_add_epi64(h0, step)) {
    __m512d vt = _mm512_set1_pd(g.t);
    __m512d z = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(l + i)), vinv);
    __mmask8 live = _mm512_cmp_pd_mask(_mm512_add_pd(z, vmax), vt, _CMP_GE_OQ);
    if (live == 0) continue;
    __m512i x = _mm512_mullo_epi64(_mm512_xor_si512(h0, _mm512_srli_epi64(h0, 30)), c1);
    x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)), c2);
    __m512i bits = _mm512_srli_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 31)), 11);
    __m512d behind = _mm512_sub_pd(vt, z);
    __mmask8 ahead = _mm512_cmp_pd_mask(behind, _mm512_setzero_pd(), _CMP_GT_OQ) & live;
    __m512i bin = _mm512_cvttpd_epi64(_mm512_mul_pd(behind, vbins));
    ahead &= _mm512_cmp_epi64_mask(bin, last, _MM_CMPINT_LE); /* (past the table: kept) */
    __m512i thr = _mm512_mask_i64gather_epi64(_mm512_set1_epi64(-1), ahead, bin, table, 8);
    __mmask8 pass = live & ~(ahead & _mm512_cmp_epi64_mask(bits, thr, _MM_CMPINT_LE));
    if (pass == 0) continue;
    double zs[8];
    int64_t bs[8];
    _mm512_storeu_pd(zs, z);
    _mm512_storeu_si512((void *) bs, bits);
    for (int j = 0; j < 8; j++) { /* (a threshold raised meanwhile only rules out more) */
      if ((pass >> j & 1) && gumbel_keep(&g, i + j, zs[j], bs[j]) < 0) return -1;
    }
  }
#endif
  for (; i < n; i++) {
    if (gumbel_token(&g, i) < 0) return -1;
  }
  jint kept = 0;
  double floor = g.hi - 2 * gumbel_margin(g.hi);
  for (jint c = 0; c < g.count; c++) {
    if (scores[c] >= floor) out[kept++] = out[c];
  }
  return kept;
}

JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gumbelCandidatesRow(
    JNIEnv *env, jclass c, jfloatArray row, jdouble inv_t, jlong key, jdouble best,
    jlongArray table, jdouble bins, jdouble max_gumbel, jintArray out) {
  jint n = (*env)->GetArrayLength(env, row);
  jint cap = (*env)->GetArrayLength(env, out);
  jint table_n = (*env)->GetArrayLength(env, table);
  float *l = (float *) (*env)->GetPrimitiveArrayCritical(env, row, NULL);
  int64_t *t = l == NULL ? NULL : (int64_t *) (*env)->GetPrimitiveArrayCritical(env, table, NULL);
  jint *o = t == NULL ? NULL : (jint *) (*env)->GetPrimitiveArrayCritical(env, out, NULL);
  jint r = -2; /* arrays not pinned: the caller takes its own loop */
  if (o != NULL) {
    r = gumbel_candidates(l, n, inv_t, (uint64_t) key, best, t, table_n, bins, max_gumbel, o,
                          cap);
    (*env)->ReleasePrimitiveArrayCritical(env, out, o, 0);
  }
  if (t != NULL) (*env)->ReleasePrimitiveArrayCritical(env, table, t, JNI_ABORT);
  if (l != NULL) (*env)->ReleasePrimitiveArrayCritical(env, row, l, JNI_ABORT);
  return r;
}

/* ---- top_k: the k best tokens of a logit row ----
 *
 * Sampler.topK's keys: a long whose ascending order is logit descending (−0 as +0), then id
 * ascending: ~sortable(bits) << 32 | id. The k smallest, ascending, into out; as the sampler's
 * heap finds them, but a vector of 16 logits at a time is passed over where none beats the heap's
 * worst (a later token must beat it strictly: its id is larger), which is nearly every vector. */
static inline int64_t topk_key(float v, long id) {
  if (v == 0.0f) v = 0.0f; /* −0 sorts as +0 */
  int32_t bits;
  memcpy(&bits, &v, sizeof bits);
  int32_t sortable = bits ^ ((bits >> 31) & 0x7fffffff);
  return (int64_t) ((uint64_t) (uint32_t) ~sortable << 32 | (uint64_t) (uint32_t) id);
}

static void topk_sift_up(int64_t *h, long i) { /* a max-heap of keys */
  while (i > 0) {
    long parent = (i - 1) / 2;
    if (h[parent] >= h[i]) return;
    int64_t t = h[parent];
    h[parent] = h[i];
    h[i] = t;
    i = parent;
  }
}

static void topk_sift_down(int64_t *h, long size) {
  long i = 0;
  for (;;) {
    long l = 2 * i + 1, r = l + 1, m = i;
    if (l < size && h[l] > h[m]) m = l;
    if (r < size && h[r] > h[m]) m = r;
    if (m == i) return;
    int64_t t = h[m];
    h[m] = h[i];
    h[i] = t;
    i = m;
  }
}

static int topk_compare(const void *a, const void *b) {
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return x < y ? -1 : x > y;
}

/* The k (1 ≤ k ≤ n) best keys of l into out, ascending: k; −1 − i where l[i] is the row's first
 * NaN. */
static jint topk_keys(const float *l, jint n, jint k, int64_t *out) {
  long size = 0, i = 0;
  float worst; /* the heap's worst logit */
  for (; i < n && size < k; i++) {
    if (l[i] != l[i]) return -1 - (jint) i;
    out[size] = topk_key(l[i], i);
    topk_sift_up(out, size++);
  }
  while (i < n) {
    int64_t top = out[0];
    int32_t sortable = ~(int32_t) (uint32_t) ((uint64_t) top >> 32);
    int32_t bits = sortable ^ ((sortable >> 31) & 0x7fffffff);
    memcpy(&worst, &bits, sizeof worst);
#ifdef __AVX512F__
    __m512 w = _mm512_set1_ps(worst);
    for (; i + 16 <= n; i += 16) {
      __m512 v = _mm512_loadu_ps(l + i);
      if (_mm512_cmp_ps_mask(v, w, _CMP_NLE_UQ) != 0) break; /* a lane beats it, or is NaN */
    }
#endif
    long end = i + 16 < n ? i + 16 : n;
    for (; i < end; i++) {
      if (l[i] != l[i]) return -1 - (jint) i;
      int64_t key = topk_key(l[i], i);
      if (key < out[0]) {
        out[0] = key;
        topk_sift_down(out, size);
      }
    }
  }
  qsort(out, (size_t) size, sizeof *out, topk_compare);
  return (jint) size;
}

JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_topKeysRow(
    JNIEnv *env, jclass c, jfloatArray row, jlongArray out) {
  jint n = (*env)->GetArrayLength(env, row);
  jint k = (*env)->GetArrayLength(env, out);
  if (k < 1 || k > n) return -2 - n;
  float *l = (float *) (*env)->GetPrimitiveArrayCritical(env, row, NULL);
  int64_t *o = l == NULL ? NULL : (int64_t *) (*env)->GetPrimitiveArrayCritical(env, out, NULL);
  jint r = -2 - n; /* not pinned: the caller takes its own loop */
  if (o != NULL) {
    r = topk_keys(l, n, k, o);
    (*env)->ReleasePrimitiveArrayCritical(env, out, o, 0);
  }
  if (l != NULL) (*env)->ReleasePrimitiveArrayCritical(env, row, l, JNI_ABORT);
  return r;
}

/* ---- top_p over a whole row: the bins and their softmax mass (Sampler.drawNucleus) ----
 *
 * Each token's bin: d = (l[i] − max)·invT, bin (int) (d·scale) where d > floor, else last (the
 * sampler's own expression, bit for bit: the same IEEE operations), and each bin's count; in the
 * same pass each bin's mass, e^d summed over its tokens (all but the last bin's), in double
 * precision to ~2 ulp a term, which the sampler's bounded pass (summing the bins it computes)
 * absorbs within its bounds (1e-12 of the normalizer), as it absorbs the summation order. */
#define NUCLEUS_MAX_BINS 128

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* e^x for −708 < x ≤ 0, to ~2 ulp: x = n·ln 2 + r (|r| ≤ ln 2 / 2, ln 2 in two parts), e^r by its
 * Taylor series to r^13 (the remainder under 2e-17), times 2^n. */
static inline __m512d vexp_pd_nonpositive(__m512d x) {
  x = _mm512_max_pd(x, _mm512_set1_pd(-700.0));
  __m512d nd = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512d r = _mm512_fnmadd_pd(nd, _mm512_set1_pd(6.93147180369123816490e-01), x);
  r = _mm512_fnmadd_pd(nd, _mm512_set1_pd(1.90821492927058770002e-10), r);
  static const double inv_fact[14] = {1.0,
                                      1.0,
                                      1.0 / 2,
                                      1.0 / 6,
                                      1.0 / 24,
                                      1.0 / 120,
                                      1.0 / 720,
                                      1.0 / 5040,
                                      1.0 / 40320,
                                      1.0 / 362880,
                                      1.0 / 3628800,
                                      1.0 / 39916800,
                                      1.0 / 479001600,
                                      1.0 / 6227020800.0};
  __m512d p = _mm512_set1_pd(inv_fact[13]);
  for (int j = 12; j >= 0; j--) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(inv_fact[j]));
  return _mm512_scalef_pd(p, nd);
}
#endif

static void nucleus_bins(const float *l, jint n, double max, double inv_t, double floor_d,
                         double scale, jint last, int8_t *bins, jint *count, double *mass) {
  /* a count and a sum array a lane: no chain of increments to one bin across lanes */
  jint c[8][NUCLEUS_MAX_BINS];
  double m[8][NUCLEUS_MAX_BINS];
  memset(c, 0, sizeof c);
  memset(m, 0, sizeof m);
  jint i = 0;
#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
  const __m512d vmax = _mm512_set1_pd(max), vinv = _mm512_set1_pd(inv_t),
                vfloor = _mm512_set1_pd(floor_d), vscale = _mm512_set1_pd(scale);
  const __m256i vlast = _mm256_set1_epi32(last);
  for (; i + 8 <= n; i += 8) {
    __m512d d = _mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(l + i)), vmax), vinv);
    __mmask8 above = _mm512_cmp_pd_mask(d, vfloor, _CMP_GT_OQ);
    __m256i b = _mm256_mask_blend_epi32(above, vlast,
                                        _mm512_cvttpd_epi32(_mm512_mul_pd(d, vscale)));
    _mm_storel_epi64((__m128i *) (bins + i), _mm256_cvtepi32_epi8(b));
    int32_t lane[8];
    double e[8];
    _mm256_storeu_si256((__m256i *) lane, b);
    _mm512_storeu_pd(e, _mm512_maskz_mov_pd(above, vexp_pd_nonpositive(d)));
    for (int j = 0; j < 8; j++) {
      c[j][lane[j]]++;
      m[j][lane[j]] += e[j];
    }
  }
#endif
  for (; i < n; i++) {
    double d = ((double) l[i] - max) * inv_t;
    int b = d > floor_d ? (int) (d * scale) : last;
    bins[i] = (int8_t) b;
    c[i & 7][b]++;
    if (b < last) m[i & 7][b] += exp(d);
  }
  for (int b = 0; b <= last; b++) {
    jint sum = 0;
    double e = 0;
    for (int j = 0; j < 8; j++) {
      sum += c[j][b];
      e += m[j][b];
    }
    count[b] = sum;
    mass[b] = b < last ? e : 0;
  }
}

/* The keys (topk_key) of the tokens whose bin is at most `upto`, in index order, into out (as
 * many as there are: the caller counted them); the count written. */
static jint nucleus_keys(const float *l, const int8_t *bins, jint n, jint upto, int64_t *out,
                         jint cap) {
  jint j = 0, i = 0;
#ifdef __AVX512BW__
  const __m512i vupto = _mm512_set1_epi8((char) upto);
  for (; i + 64 <= n && j < cap; i += 64) {
    uint64_t in = _mm512_cmple_epi8_mask(_mm512_loadu_si512((const void *) (bins + i)), vupto);
    while (in != 0 && j < cap) {
      int b = __builtin_ctzll(in);
      out[j++] = topk_key(l[i + b], i + b);
      in &= in - 1;
    }
  }
#endif
  for (; i < n && j < cap; i++) {
    if (bins[i] <= upto) out[j++] = topk_key(l[i], i);
  }
  return j;
}


JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_nucleusBinsRow(
    JNIEnv *env, jclass c, jfloatArray row, jdouble max, jdouble inv_t, jdouble floor_d,
    jdouble scale, jbyteArray bins, jintArray count, jdoubleArray mass) {
  jint n = (*env)->GetArrayLength(env, row);
  jint last = (*env)->GetArrayLength(env, count) - 1;
  if ((*env)->GetArrayLength(env, bins) != n || last < 0 || last >= NUCLEUS_MAX_BINS
      || (*env)->GetArrayLength(env, mass) != last + 1 || !(floor_d * scale <= last)) {
    return -1;
  }
  float *l = (float *) (*env)->GetPrimitiveArrayCritical(env, row, NULL);
  int8_t *b = l == NULL ? NULL : (int8_t *) (*env)->GetPrimitiveArrayCritical(env, bins, NULL);
  jint *k = b == NULL ? NULL : (jint *) (*env)->GetPrimitiveArrayCritical(env, count, NULL);
  double *m = k == NULL ? NULL : (double *) (*env)->GetPrimitiveArrayCritical(env, mass, NULL);
  if (m != NULL) {
    nucleus_bins(l, n, max, inv_t, floor_d, scale, last, b, k, m);
    (*env)->ReleasePrimitiveArrayCritical(env, mass, m, 0);
  }
  if (k != NULL) (*env)->ReleasePrimitiveArrayCritical(env, count, k, m == NULL ? JNI_ABORT : 0);
  if (b != NULL) (*env)->ReleasePrimitiveArrayCritical(env, bins, b, m == NULL ? JNI_ABORT : 0);
  if (l != NULL) (*env)->ReleasePrimitiveArrayCritical(env, row, l, JNI_ABORT);
  return m == NULL ? -1 : 0;
}

JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_nucleusKeysRow(
    JNIEnv *env, jclass c, jfloatArray row, jbyteArray bins, jint upto, jlongArray out) {
  jint n = (*env)->GetArrayLength(env, row);
  jint cap = (*env)->GetArrayLength(env, out);
  if ((*env)->GetArrayLength(env, bins) != n || upto < 0 || upto >= NUCLEUS_MAX_BINS) return -1;
  float *l = (float *) (*env)->GetPrimitiveArrayCritical(env, row, NULL);
  int8_t *b = l == NULL ? NULL : (int8_t *) (*env)->GetPrimitiveArrayCritical(env, bins, NULL);
  int64_t *o = b == NULL ? NULL : (int64_t *) (*env)->GetPrimitiveArrayCritical(env, out, NULL);
  jint r = -1;
  if (o != NULL) {
    r = nucleus_keys(l, b, n, upto, o, cap);
    (*env)->ReleasePrimitiveArrayCritical(env, out, o, 0);
  }
  if (b != NULL) (*env)->ReleasePrimitiveArrayCritical(env, bins, b, JNI_ABORT);
  if (l != NULL) (*env)->ReleasePrimitiveArrayCritical(env, row, l, JNI_ABORT);
  return r;
}

/* ---- RMSNorm and SiLU-gated products: one call instead of libtorch's 4–6 small ops each ---- */

struct rows_job {
  const float *x, *w;
  const float *y, *b; /* LayerNorm: the second addend (or null) and the bias */
  float *out;
  int rows, n; /* RMSNorm, LayerNorm, GELU: rows of n; SiLU: rows of 2n in, n out */
  float eps;
  void (*row)(const struct rows_job *, long); /* what to do with one row */
  int block; /* rows taken at a time: one atomic per block, not per row */
  int ahead; /* each row's successor fetched while it runs (an RMSNorm's rows: rows_setup) */
  int next;
};

/* out = x · (mean(x²) + eps)^−½ · w (w may be null), one row. */
static void rms_norm_row(const struct rows_job *jb, long r) {
  rms_row(jb->x + r * jb->n, jb->w, jb->out + r * jb->n, jb->n, jb->eps);
}

/* out += x over one row of n (a residual sum, one rounding an element as a tensor add's). */
static void add_row(const struct rows_job *jb, long r) {
  const float *x = jb->x + r * jb->n;
  float *o = jb->out + r * jb->n;
  int c = 0;
  for (; c + W <= jb->n; c += W) {
    *(v16u *) (o + c) = *(const v16u *) (o + c) + *(const v16u *) (x + c);
  }
  for (; c < jb->n; c++) o[c] += x[c];
}

/* o = x · (mean(x²) + eps)^−½ · w (w may be null) over n floats. */
static void rms_row(const float *x, const float *w, float *o, int n, float eps) {
  int c = 0;
  v16 acc = splat(0);
  for (; c + W <= n; c += W) {
    v16 v = *(const v16u *) (x + c);
    acc += v * v;
  }
  float ss = hsum(acc);
  for (; c < n; c++) ss += x[c] * x[c];
  float inv = 1.0f / sqrtf(ss / (float) n + eps);
  for (c = 0; c + W <= n; c += W) {
    v16 v = *(const v16u *) (x + c) * inv;
    if (w != NULL) v *= *(const v16u *) (w + c);
    *(v16u *) (o + c) = v;
  }
  for (; c < n; c++) o[c] = x[c] * inv * (w != NULL ? w[c] : 1.0f);
}

/* o = silu(g) · u over w columns: silu(g) = g·σ(g), σ from e^{−|g|}; 16 columns at a time, the
 * last w % 16 one by one (a span that starts on a multiple of 16 of a row and runs to the row's
 * end, or to a multiple of 16, gives the numbers the whole row would). */
static void silu_mul_span(const float *g, const float *u, float *o, int w) {
  int c = 0;
  for (; c + W <= w; c += W) {
    v16 x = *(const v16u *) (g + c);
    v16 e = vexp_nonpositive((v16)((i16) x | (i16) splat(-0.0f))); /* e^{−|x|} */
    i16 neg = vgt(splat(0), x);
    v16 num = (v16)(((i16) e & neg) | ((i16) splat(1.0f) & ~neg)); /* σ = num / (1 + e) */
    *(v16u *) (o + c) = x * num / (1.0f + e) * *(const v16u *) (u + c);
  }
  for (; c < w; c++) {
    float x = g[c];
    float e = expf(-fabsf(x));
    o[c] = x * (x < 0 ? e : 1.0f) / (1.0f + e) * u[c];
  }
}

/* out = silu(g) · u for a row [g (n) | u (n)]. */
static void silu_mul_row(const struct rows_job *jb, long r) {
  const float *g = jb->x + r * 2L * jb->n;
  silu_mul_span(g, g + jb->n, jb->out + r * jb->n, jb->n);
}

/* gelu_tanh(x) (HF's gelu_pytorch_tanh, GPT-2's gelu_new) = ½x(1 + tanh(y)), y = √(2/π)(x +
 * 0.044715x³), taken as x·σ(2y) (the same function: 1 + tanh(y) = 2σ(2y)), σ from e^{−|2y|} as
 * in silu_mul_span; y's terms in the order the layer-by-layer path's ops took them ((x·x·0.044715
 * + 1)·x·√(2/π)). Sixteen lanes, and one value (the tails of spans). */
static inline v16 vgelu_tanh(v16 x) {
  v16 z = (x * x * 0.044715f + 1.0f) * x * 0.7978845608028654f * 2.0f;
  v16 e = vexp_nonpositive((v16)((i16) z | (i16) splat(-0.0f))); /* e^{−|2y|} */
  i16 neg = vgt(splat(0), z);
  v16 num = (v16)(((i16) e & neg) | ((i16) splat(1.0f) & ~neg)); /* σ(2y) = num / (1 + e) */
  return x * num / (1.0f + e);
}

static inline float gelu_tanh1(float x) {
  float z = (x * x * 0.044715f + 1.0f) * x * 0.7978845608028654f * 2.0f;
  float e = expf(-fabsf(z));
  return x * (z < 0 ? e : 1.0f) / (1.0f + e);
}

/* o = gelu_tanh(g) · u over w columns (GeGLU: Gemma's MLP). Spans as silu_mul_span's. */
static void gelu_tanh_mul_span(const float *g, const float *u, float *o, int w) {
  int col = 0;
  for (; col + W <= w; col += W) {
    *(v16u *) (o + col) = vgelu_tanh(*(const v16u *) (g + col)) * *(const v16u *) (u + col);
  }
  for (; col < w; col++) o[col] = gelu_tanh1(g[col]) * u[col];
}

/* tanh(y) to ~2 ulp: below |y| = 0.625 an odd polynomial (Cephes' tanhf), above it sign(y)·(1 −
 * e)/(1 + e), e = e^{−2|y|}, where 1 − e no longer cancels. */
static inline v16 vtanh(v16 y) {
  v16 z = y * y;
  v16 p = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
            + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * y + y;
  i16 sign = (i16) y & (i16) splat(-0.0f);
  v16 e = vexp_nonpositive((v16)((i16) y | (i16) splat(-0.0f)) * 2.0f); /* e^{−2|y|} */
  v16 big = (v16)((i16) ((1.0f - e) / (1.0f + e)) | sign);
  i16 small = vgt(splat(0.625f), (v16)((i16) y & ~(i16) splat(-0.0f)));
  return (v16)(((i16) p & small) | ((i16) big & ~small));
}

/* x = cap · tanh(x / cap) in place over one row (Gemma 2's final logit soft-capping). */
static void softcap_row(const struct rows_job *jb, long r) {
  float *x = jb->out + r * jb->n;
  float cap = jb->eps;
  int c = 0;
  for (; c + W <= jb->n; c += W) *(v16u *) (x + c) = vtanh(*(const v16u *) (x + c) / cap) * cap;
  for (; c < jb->n; c++) x[c] = tanhf(x[c] / cap) * cap;
}

/* x = gelu_tanh(x) in place over one row (GPT-2's MLP). */
static void gelu_tanh_row(const struct rows_job *jb, long r) {
  float *x = jb->out + r * jb->n;
  int c = 0;
  for (; c + W <= jb->n; c += W) *(v16u *) (x + c) = vgelu_tanh(*(const v16u *) (x + c));
  for (; c < jb->n; c++) x[c] = gelu_tanh1(x[c]);
}

/* out = gelu_tanh(g) · u for a row [g (n) | u (n)]. */
static void gelu_tanh_mul_row(const struct rows_job *jb, long r) {
  const float *g = jb->x + r * 2L * jb->n;
  gelu_tanh_mul_span(g, g + jb->n, jb->out + r * jb->n, jb->n);
}

/* out = LayerNorm(x + y) · w + b for one row (y may be null; out may be x or y): the sum is
 * written to out, then its mean and the mean squared deviation from it (two passes over the row,
 * in L1), then normalised in place. */
static void add_layer_norm_row(const struct rows_job *jb, long r) {
  const float *x = jb->x + r * jb->n;
  const float *y = jb->y == NULL ? NULL : jb->y + r * jb->n;
  float *o = jb->out + r * jb->n;
  int n = jb->n, c = 0;
  v16 acc = splat(0);
  for (; c + W <= n; c += W) {
    v16 v = *(const v16u *) (x + c);
    if (y != NULL) v += *(const v16u *) (y + c);
    *(v16u *) (o + c) = v;
    acc += v;
  }
  float sum = hsum(acc);
  for (; c < n; c++) {
    o[c] = x[c] + (y != NULL ? y[c] : 0.0f);
    sum += o[c];
  }
  float mean = sum / (float) n;
  acc = splat(0);
  for (c = 0; c + W <= n; c += W) {
    v16 d = *(const v16u *) (o + c) - mean;
    acc += d * d;
  }
  float ss = hsum(acc);
  for (; c < n; c++) ss += (o[c] - mean) * (o[c] - mean);
  float inv = 1.0f / sqrtf(ss / (float) n + jb->eps);
  for (c = 0; c + W <= n; c += W) {
    v16 v = (*(const v16u *) (o + c) - mean) * inv;
    *(v16u *) (o + c) = v * *(const v16u *) (jb->w + c) + *(const v16u *) (jb->b + c);
  }
  for (; c < n; c++) o[c] = (o[c] - mean) * inv * jb->w[c] + jb->b[c];
}

/* erf(z) for z ≥ 0 to within 1.5e-7 (Abramowitz & Stegun 7.1.26, the form libtorch's vectorised
 * CPU GELU uses): 1 − t·P(t)·e^{−z²}, t = 1 / (1 + 0.3275911·z). */
static inline v16 verf_nonnegative(v16 z) {
  v16 t = 1.0f / (1.0f + 0.3275911f * z);
  v16 p = splat(1.061405429f);
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  return 1.0f - p * t * vexp_nonpositive(-(z * z));
}

/* x = x · ½(1 + erf(x / √2)) in place (HF's "gelu"), one row. */
static void gelu_row(const struct rows_job *jb, long r) {
  float *x = jb->out + r * jb->n;
  int n = jb->n, c = 0;
  for (; c + W <= n; c += W) {
    v16 v = *(v16u *) (x + c);
    v16 e = verf_nonnegative((v16)((i16) v & ~(i16) splat(-0.0f)) * 0.70710678118654752f);
    v16 half = 0.5f * v;
    *(v16u *) (x + c) = half + (v16)((i16) (half * e) ^ ((i16) v & (i16) splat(-0.0f)));
  }
  for (; c < n; c++) x[c] = 0.5f * x[c] * (1.0f + erff(x[c] * 0.70710678118654752f));
}

/* Applies the job's row function to blocks of rows taken from the shared counter. */
static void rows_worker(void *arg) {
  struct rows_job *jb = (struct rows_job *) arg;
  for (long b; (b = __atomic_fetch_add(&jb->next, 1, __ATOMIC_RELAXED)) * jb->block < jb->rows;) {
    long end = (b + 1) * jb->block < jb->rows ? (b + 1) * jb->block : jb->rows;
    for (long r = b * jb->block; r < end; r++) {
      if (jb->ahead && r + 1 < end) { /* the next row's lines while this one runs: a decode
                                       * step's residual rows were just written by the other
                                       * core (the GEMM splits columns), and one row at a time
                                       * waited on each line in turn */
        const char *x = (const char *) (jb->x + (r + 1) * jb->n);
        char *o = (char *) (jb->out + (r + 1) * jb->n);
        for (long at = 0; at < (long) jb->n * (long) sizeof(float); at += 64) {
          __builtin_prefetch(x + at, 0, 3);
          __builtin_prefetch(o + at, 1, 3);
        }
      }
      jb->row(jb, r);
    }
  }
}

/* Rows split over threads only when there are enough of them to pay for waking the team; taken
 * in blocks, ~8 a thread (6,400 encoder rows taken one by one ran GELU and LayerNorm ~2x slower:
 * each take moves the counter's cache line between cores). */
static int rows_setup(void (*row)(const struct rows_job *, long), struct rows_job *jb,
                      jint threads) {
  int per = threads > 1 ? threads * 8 : 1;
  jb->row = row;
  jb->block = jb->rows / per > 1 ? jb->rows / per : 1;
  jb->ahead = row == rms_norm_row;
  return gomp_parallel != NULL && threads > 1 && (long) jb->rows * jb->n >= 32768;
}

/* Runs a set-up row job: on a team of `threads` where `spawn`, else on the calling thread. */
static void rows_launch(struct rows_job *jb, int spawn, jint threads) {
  if (spawn) {
    gomp_parallel(rows_worker, jb, (unsigned) threads, 0);
  } else {
    rows_worker(jb);
  }
}

static void run_rows(void (*row)(const struct rows_job *, long), struct rows_job *jb,
                     jint threads) {
  rows_launch(jb, rows_setup(row, jb, threads), threads);
}

/* A row job over rows of n: x, w, b (what the row function reads; each may be null), out. */
static struct rows_job rows_job_of(const float *x, const float *w, const float *b, float *out,
                                   int rows, int n, float eps) {
  struct rows_job jb;
  memset(&jb, 0, sizeof jb);
  jb.x = x;
  jb.w = w;
  jb.b = b;
  jb.out = out;
  jb.rows = rows;
  jb.n = n;
  jb.eps = eps;
  return jb;
}

/* A row job over rows of n (out rows; the caller sets what else its row function reads). */
static struct rows_job rows_of(JNIEnv *env, jobject out, jint rows, jint n, jfloat eps) {
  return rows_job_of(NULL, NULL, NULL, address(env, out), rows, n, eps);
}

JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_rmsNorm(
    JNIEnv *env, jclass c, jobject x, jobject w, jobject out, jint rows, jint n, jfloat eps,
    jint threads) {
  struct rows_job jb = rows_of(env, out, rows, n, eps);
  jb.x = address(env, x);
  jb.w = address(env, w);
  run_rows(rms_norm_row, &jb, threads);
}

JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_addLayerNorm(
    JNIEnv *env, jclass c, jobject x, jobject y, jobject w, jobject b, jobject out, jint rows,
    jint n, jfloat eps, jint threads) {
  struct rows_job jb = rows_of(env, out, rows, n, eps);
  jb.x = address(env, x);
  jb.y = address(env, y);
  jb.w = address(env, w);
  jb.b = address(env, b);
  run_rows(add_layer_norm_row, &jb, threads);
}

/* x in place, row by row: kind 0 the erf GELU, 1 the tanh GELU, 2 param · tanh(x / param). */
JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_inPlace(
    JNIEnv *env, jclass c, jobject x, jint kind, jint rows, jint n, jfloat param, jint threads) {
  static void (*const row[])(const struct rows_job *, long) = {gelu_row, gelu_tanh_row,
                                                                softcap_row};
  struct rows_job jb = rows_of(env, x, rows, n, param); /* (eps carries softcap's cap) */
  run_rows(row[kind], &jb, threads);
}

/* out = act(gate) · up for rows [gate (n) | up (n)] of gu: SiLU, or with gelu the tanh GELU. */
JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gatedMul(
    JNIEnv *env, jclass c, jobject gu, jobject out, jboolean gelu, jint rows, jint n,
    jint threads) {
  struct rows_job jb = rows_of(env, out, rows, n, 0);
  jb.x = address(env, gu);
  run_rows(gelu ? gelu_tanh_mul_row : silu_mul_row, &jb, threads);
}

/* ---- Packed GEMM: y (m, n) = x (m, k) · Wᵀ + bias, W (n, k) packed once ----
 *
 * W is packed into panels of NR = 48 output columns, each k rows of 48 values (zero-padded past
 * n), so a micro-kernel streams one panel contiguously. The micro-kernel holds an 8 × 48 block of
 * y in 24 AVX-512 registers: per k, three vectors of the panel's row and eight broadcasts of x, 24
 * FMAs. A panel's k-chunk serves every 8-row block of x in turn (from L1/L2 after the first);
 * while it does, the next chunk (or the next panel) is prefetched, a share per kernel call, so the
 * weight streams from memory under the arithmetic instead of between it. That is where oneMKL's
 * packed sgemm loses time at decode row counts (8–64 rows) on this CPU: 1.4–1.6× there, par at
 * one row (docs/benchmarks.md, session 6). Tiles (a block of up to MC rows × one panel) are
 * split into one contiguous segment per thread of the OpenMP team, helped from its back by
 * threads done with their own (gemm_worker).
 *
 * Built with AVX2, FMA and F16C but no AVX-512 (HAVE_GEMM 256), the same panels and tiles run on
 * 4-row blocks of 24 columns (half a panel: 12 accumulators of the 16 registers), each y the same
 * FMA chain as AVX-512's (bias, then k in order), so the same bits. A panel there is stored as
 * its two 24-column halves, one after the other (gemm_split), so that each half's pass reads only
 * its own lines (10–24% faster at 8–32 rows than 48-value rows); one or two rows take all 48
 * columns at once, from both halves (6 or 12 accumulators: a half's 3 FMA chains a row could not
 * cover the FMA latency). A bfloat16 half holds each pair of k rows as three words of 8 lanes
 * (bf16_pair_columns), one load widened by a shift and by a mask into two vectors: a vector ALU
 * operation a vector, as float16's vcvtph2ps (with each value zero-extended and shifted,
 * vpmovzxwd and vpslld, the products ran 1.13× slower; docs/benchmarks.md, session 25).
 *
 * A weight whose every value is a bfloat16 (the low 16 bits of each float zero: a BF16
 * checkpoint's weights, widened on load) is packed as those 16 bits, half the bytes, and widened
 * back in registers (a shift or a mask: exact), so the product is the float32 one, bit for bit,
 * from half the memory traffic: a decode step is mostly that traffic. Its panel holds, per pair
 * of k rows, three 16-lane words: columns 0–15 | 16–31 of row k, the same of row k + 1, and
 * columns 32–47 of row k | of row k + 1 (a lane's low half is widened by a shift, its high half
 * by a mask). A weight whose every value is an IEEE half (an FP16 checkpoint's) is packed as
 * those halves, 48 a k row, and widened by vcvtph2ps, exact as well. Packed weights start with
 * a header saying which layout follows.
 *
 * Where the CPU has AMX (Sapphire Rapids and later) and the kernel grants its tile state, a
 * bfloat16 weight may instead be packed for the tile units (PACKED_AMX): per panel, per pair of
 * k rows, 48 columns of (row k, row k + 1) pairs, k padded with zeros to a multiple of 32, so one
 * tile load reads 32 k rows × 16 columns. The tile units multiply bfloat16 by bfloat16 only, so x
 * is first split into three bfloat16 parts, x = hi + mid + lo (each the rest of the one before,
 * rounded: 3 × 8 significand bits, x's 24), and the product is Σ W·part, accumulated in float32
 * by the tiles (each bfloat16 product is exact in float32). That is float32 accuracy, not the
 * AVX-512 kernel's bit pattern: the sum runs in another order (measured on random rows, the
 * error against an exact sum was 4.8e-8 of Σ|terms|, against 1.9e-7 for a float32 FMA loop). A
 * tile product does 16 × 16 × 32 multiply-adds; three of them a k block still run ~2–5× the
 * AVX-512 FMA rate (docs/benchmarks.md, session 13). */
#ifdef HAVE_GEMM
#if HAVE_GEMM == 512
enum { NR = 48, MR = 8, KC = 768, MC = 128, HEADER = 64, PF_ROWS = 64 };
#else
/* AVX2 (16 vector registers): 4-row blocks, each a 24-column half of the panel at a time (12
 * accumulators, three vectors of the panel's row, one broadcast); k chunks of 768 rows, as with
 * AVX-512 (144 KiB of float32 panel, 72 of 16-bit, served to the row blocks from L2), and the
 * in-panel fetch 32 k rows ahead. On the AVX2 host (AMD EPYC, Zen 3, 2 vCPUs), a 100M model's 49
 * weights at 32 rows (C harness, alternating runs): float32 40.2–40.7 ms against 40.5–41.6 with
 * 24 KiB chunks (128 float32 rows, which fit L1) and 41.3–41.9 with 384 rows; bfloat16 34.4–35.0
 * against 36.1–38.0; 1, 8 and 16 rows the same or faster (docs/benchmarks.md, session 25; with
 * session 25's first kernels 24 KiB had measured 3% faster than 48). */
enum { NR = 48, MR = 4, KC = 768, MC = 128, HEADER = 64, PF_ROWS = 32 };
#endif
/* The weight stream's fetch ahead into L2 (the next chunk, or the next tile's panel) touches one
 * line in PF_STRIDE bytes and leaves the lines between to the L2's own stream prefetcher: on the
 * AMD EPYC host a 32-row step of the 100M model ran 0.75 ± 0.09 ms faster than with every line
 * fetched (67 alternating pairs of 60-step rounds; one in 128 or 192 bytes was slower, one in 384
 * the same), batch 1 0.21 ± 0.03 ms faster, batch 8 the same; a BF16 checkpoint's 32-row step
 * 0.56 ± 0.04 ms faster (docs/benchmarks.md, session 22). */
#if HAVE_GEMM == 512
enum { PF_STRIDE = 256 };
#else
enum { PF_STRIDE = 64 }; /* every line: on the Zen 3 host one in 2 or 4 was 5–30% slower */
#endif
enum { PACKED_F32 = 0, PACKED_BF16 = 1, PACKED_F16 = 2, PACKED_AMX = 3 };
#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__)
#define HAVE_AMX 1
#endif

struct packed_header {
  int32_t layout, n, k;
  int32_t split; /* 0; or a SwiGLU gate|up weight (n = 2·split rows, gate first) packed for
                  * gemm_glu_run: panels in pairs, gate columns 48q.. then the same of up */
  int32_t gate;  /* such a pair's gate: GATE_SILU (SwiGLU) or GATE_GELU_TANH (GeGLU) */
};
enum { GATE_SILU = 0, GATE_GELU_TANH = 1 };

#if HAVE_GEMM == 512
typedef __mmask16 gemm_mask_t; /* a panel's three 16-column vectors' masks */
enum { MASKS = 3 };

/* Starts a kernel's accumulators: init 1: bias (or 0); 2: r + bias (a residual, laid out as c);
 * 0: c (a later chunk). */
#define GEMM_INIT(R)                                                                              \
  __m512 acc[R][3];                                                                               \
  for (int i = 0; i < R; i++) {                                                                   \
    for (int j = 0; j < 3; j++) {                                                                 \
      __m512 b_ = bias != NULL && init ? _mm512_maskz_loadu_ps(mask[j], bias + 16 * j)            \
                                       : _mm512_setzero_ps();                                     \
      acc[i][j] = init == 1 ? b_                                                                  \
                  : _mm512_add_ps(b_, _mm512_maskz_loadu_ps(mask[j], (init ? r : c) + i * ldc    \
                                                                         + 16 * j));             \
    }                                                                                             \
  }                                                                                               \
  long pf_acc = 0;

#define GEMM_FMA(R, row, b0, b1, b2)                                                              \
  for (int i = 0; i < R; i++) {                                                                   \
    __m512 ai = _mm512_set1_ps(a[i * lda + (row)]);                                               \
    acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);                                               \
    acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);                                               \
    acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);                                               \
  }

#define GEMM_STORE(R)                                                                             \
  for (int i = 0; i < R; i++) {                                                                   \
    for (int j = 0; j < 3; j++) {                                                                 \
      _mm512_mask_storeu_ps(c + i * ldc + 16 * j, mask[j], acc[i][j]);                            \
    }                                                                                             \
  }

/* c[R × 48] (masked columns) = init (GEMM_INIT) + a[R × kc] · b[kc × 48], b a panel of rows of
 * 48 values of type T, each row's three vectors read by LOAD; meanwhile pf_lines lines from pf,
 * PF_STRIDE bytes apart, are fetched into L2, spread over the k rows (into L2 rather than L1: on
 * an Intel Xeon, float32 panels streamed 3–8% faster at 1–32 rows, bfloat16 ones the same; on an
 * AMD EPYC the hints measured alike; docs/benchmarks.md, session 13). */
#define GEMM_KERNEL_ROWS(NAME, R, T, LOAD)                                                        \
  static void NAME(int kc, const float *a, long lda, const void *panel, float *c, long ldc,       \
                   const gemm_mask_t *mask, int init, const float *bias, const float *r,          \
                   const char *pf, long pf_lines, long half) {                                    \
    const T *b = (const T *) panel;                                                               \
    GEMM_INIT(R)                                                                                  \
    for (int kk = 0; kk < kc; kk++) {                                                             \
      __m512 b0 = LOAD(b), b1 = LOAD(b + 16), b2 = LOAD(b + 32);                                  \
      _mm_prefetch((const char *) (b + PF_ROWS * NR), _MM_HINT_T0);                               \
      _mm_prefetch((const char *) (b + PF_ROWS * NR + 32), _MM_HINT_T0);                          \
      for (pf_acc += pf_lines; pf_acc >= kc; pf_acc -= kc, pf += PF_STRIDE) {                     \
        _mm_prefetch(pf, _MM_HINT_T1);                                                            \
      }                                                                                           \
      GEMM_FMA(R, kk, b0, b1, b2)                                                                 \
      b += NR;                                                                                    \
    }                                                                                             \
    GEMM_STORE(R)                                                                                 \
  }
/* float32 panels; float16 ones (48 halves a k row) widened by vcvtph2ps */
#define LOAD_F32(p) _mm512_load_ps(p)
#define LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p)))
#define GEMM_KERNEL(R) GEMM_KERNEL_ROWS(gemm_kernel_##R, R, float, LOAD_F32)
#define GEMM_KERNEL_F16(R) GEMM_KERNEL_ROWS(gemm_kernel_f16_##R, R, uint16_t, LOAD_F16)

/* The same over a bfloat16 panel; kc is even. */
#define GEMM_KERNEL_BF16(R)                                                                       \
  static void gemm_kernel_bf16_##R(int kc, const float *a, long lda, const void *panel, float *c,\
                                   long ldc, const gemm_mask_t *mask, int init, const float *bias,\
                                   const float *r, const char *pf, long pf_lines, long half) {   \
    const __m512i *b = (const __m512i *) panel;                                                   \
    const __m512i high = _mm512_set1_epi32((int) 0xFFFF0000);                                     \
    GEMM_INIT(R)                                                                                  \
    for (int kk = 0; kk < kc; kk += 2) {                                                          \
      __m512i w0 = _mm512_load_si512(b), w1 = _mm512_load_si512(b + 1),                           \
              w2 = _mm512_load_si512(b + 2);                                                      \
      _mm_prefetch((const char *) (b + PF_ROWS / 2 * 3), _MM_HINT_T0);                            \
      _mm_prefetch((const char *) (b + PF_ROWS / 2 * 3 + 1), _MM_HINT_T0);                        \
      _mm_prefetch((const char *) (b + PF_ROWS / 2 * 3 + 2), _MM_HINT_T0);                        \
      for (pf_acc += 2 * pf_lines; pf_acc >= kc; pf_acc -= kc, pf += PF_STRIDE) {                 \
        _mm_prefetch(pf, _MM_HINT_T1);                                                            \
      }                                                                                           \
      __m512 b0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));                                 \
      __m512 b1 = _mm512_castsi512_ps(_mm512_and_si512(w0, high));                                \
      __m512 b2 = _mm512_castsi512_ps(_mm512_slli_epi32(w2, 16));                                 \
      GEMM_FMA(R, kk, b0, b1, b2)                                                                 \
      b0 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));                                        \
      b1 = _mm512_castsi512_ps(_mm512_and_si512(w1, high));                                       \
      b2 = _mm512_castsi512_ps(_mm512_and_si512(w2, high));                                       \
      GEMM_FMA(R, kk + 1, b0, b1, b2)                                                             \
      b += 3;                                                                                     \
    }                                                                                             \
    GEMM_STORE(R)                                                                                 \
  }
GEMM_KERNEL(1)
GEMM_KERNEL(2)
GEMM_KERNEL(3)
GEMM_KERNEL(4)
GEMM_KERNEL(5)
GEMM_KERNEL(6)
GEMM_KERNEL(7)
GEMM_KERNEL(8)
GEMM_KERNEL_BF16(1)
GEMM_KERNEL_BF16(2)
GEMM_KERNEL_BF16(3)
GEMM_KERNEL_BF16(4)
GEMM_KERNEL_BF16(5)
GEMM_KERNEL_BF16(6)
GEMM_KERNEL_BF16(7)
GEMM_KERNEL_BF16(8)

GEMM_KERNEL_F16(1)
GEMM_KERNEL_F16(2)
GEMM_KERNEL_F16(3)
GEMM_KERNEL_F16(4)
GEMM_KERNEL_F16(5)
GEMM_KERNEL_F16(6)
GEMM_KERNEL_F16(7)
GEMM_KERNEL_F16(8)
typedef void (*gemm_kernel_fn)(int, const float *, long, const void *, float *, long,
                               const gemm_mask_t *, int, const float *, const float *,
                               const char *, long, long);
static const gemm_kernel_fn gemm_kernels[3][MR + 1] = {
    {NULL, gemm_kernel_1, gemm_kernel_2, gemm_kernel_3, gemm_kernel_4, gemm_kernel_5,
     gemm_kernel_6, gemm_kernel_7, gemm_kernel_8},
    {NULL, gemm_kernel_bf16_1, gemm_kernel_bf16_2, gemm_kernel_bf16_3, gemm_kernel_bf16_4,
     gemm_kernel_bf16_5, gemm_kernel_bf16_6, gemm_kernel_bf16_7, gemm_kernel_bf16_8},
    {NULL, gemm_kernel_f16_1, gemm_kernel_f16_2, gemm_kernel_f16_3, gemm_kernel_f16_4,
     gemm_kernel_f16_5, gemm_kernel_f16_6, gemm_kernel_f16_7, gemm_kernel_f16_8}};

/* The masks of a panel's three 16-column vectors when w of its 48 columns exist. */
static inline void panel_masks(int w, gemm_mask_t *mask) {
  for (int j = 0; j < MASKS; j++) {
    int cols = w - 16 * j;
    mask[j] = cols >= 16 ? (__mmask16) 0xFFFF : cols <= 0 ? 0 : (__mmask16) ((1u << cols) - 1);
  }
}
#else
typedef __m256i gemm_mask_t; /* a panel's six 8-column vectors' masks (lanes all ones or 0) */
enum { MASKS = 6 };

/* 8 floats at p, of which mask's lanes exist (the others read as 0 / left alone): plain loads
 * and stores where all do, since on AMD Zen a masked store is microcoded (~20× a plain one's
 * cost: 12 of them a call cost a 4 × 24 block over a 128-row chunk a third of its time). */
static inline __attribute__((always_inline)) __m256 load8(const float *p, __m256i mask) {
  return _mm256_movemask_ps(_mm256_castsi256_ps(mask)) == 0xFF ? _mm256_loadu_ps(p)
                                                               : _mm256_maskload_ps(p, mask);
}
static inline __attribute__((always_inline)) void store8(float *p, __m256i mask, __m256 v) {
  if (_mm256_movemask_ps(_mm256_castsi256_ps(mask)) == 0xFF) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, mask, v);
  }
}

/* The accumulator of row i, columns 8g..8g+7: as GEMM_INIT's (init 1: bias or 0; 2: r + bias;
 * 0: c). */
static inline __attribute__((always_inline)) __m256 gemm2_start(const gemm_mask_t *mask, int g,
                                                                int init, const float *bias,
                                                                const float *r, const float *c,
                                                                int i, long ldc) {
  __m256 b = bias != NULL && init ? load8(bias + 8 * g, mask[g]) : _mm256_setzero_ps();
  return init == 1 ? b : _mm256_add_ps(b, load8((init ? r : c) + i * ldc + 8 * g, mask[g]));
}

/* Columns 8g..8g + 7 (g < 3) of row q (0, 1) of a k-row pair in a half of AVX2's bfloat16 panel,
 * p the pair's three 8-lane words of 32 bits (gemm_split): word q holds row q's columns l (low
 * half) and 8 + l (high half) in lane l, word 2 column 16 + l of row 0 (low) and row 1 (high); a
 * low half is widened by a shift, a high half by a mask. */
static const uint32_t bf16_high[8] __attribute__((aligned(32))) = {
    0xFFFF0000u, 0xFFFF0000u, 0xFFFF0000u, 0xFFFF0000u,
    0xFFFF0000u, 0xFFFF0000u, 0xFFFF0000u, 0xFFFF0000u};
static inline __attribute__((always_inline)) __m256 bf16_pair_columns(const uint16_t *p, int g,
                                                                      int q) {
  __m256i w = _mm256_load_si256((const __m256i *) p + (g < 2 ? q : 2));
  if (g == 1 || (g == 2 && q == 1)) {
    /* the mask read by the and itself: held in a register (GCC hoists it out of the k loop) it
     * is a 17th, and the kernels around it spill accumulators */
    __asm__("vpand %1, %0, %0" : "+x"(w) : "m"(bf16_high));
    return _mm256_castsi256_ps(w);
  }
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
/* Columns 8g..8g + 7 of row q of a step of a split panel's half (ROWS k rows, STEP values) */
#define VEC2_F32(p, g, q) _mm256_load_ps((p) + 8 * (g))
#define VEC2_F16(p, g, q) _mm256_cvtph_ps(_mm_load_si128((const __m128i *) ((p) + 8 * (g))))
#define VEC2_BF16(p, g, q) bf16_pair_columns(p, g, q)

/* A kernel's k loop over one half of a split panel, b walking its rows: ROWS k rows a step (2 for
 * bfloat16's row pairs), each step STEP values, row q's columns 8g.. read by VEC(b, g, q). The
 * half's share of the fetch ahead into L2, pf_lines lines from pf, is spread over its k rows. */
#define GEMM2_HALF_LOOP(R, T, VEC, ROWS)                                                          \
  for (int kk = 0; kk < kc; kk += ROWS) {                                                         \
    enum { STEP = ROWS * (NR / 2) };                                                              \
    const char *ahead = (const char *) (b + PF_ROWS / ROWS * STEP);                               \
    _mm_prefetch(ahead, _MM_HINT_T0);                                                             \
    if (STEP * sizeof(T) > 64) _mm_prefetch(ahead + 64, _MM_HINT_T0);                             \
    for (pf_acc += ROWS * pf_lines; pf_acc >= kc; pf_acc -= kc, pf += PF_STRIDE) {                \
      _mm_prefetch(pf, _MM_HINT_T1);                                                              \
    }                                                                                             \
    for (int q = 0; q < ROWS; q++) {                                                              \
      __m256 b0 = VEC(b, 0, q), b1 = VEC(b, 1, q), b2 = VEC(b, 2, q);                             \
      /* in registers: GCC otherwise folded a float32 row's loads into each row's FMAs, 12      \
       * loads a k row instead of 3, and the 4-row kernel ran 17% slower */                     \
      __asm__("" : "+x"(b0), "+x"(b1), "+x"(b2));                                                 \
      for (int i = 0; i < R; i++) {                                                               \
        __m256 ai = _mm256_broadcast_ss(a + i * lda + kk + q);                                    \
        acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);                                           \
        acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);                                           \
        acc[i][2] = _mm256_fmadd_ps(ai, b2, acc[i][2]);                                           \
      }                                                                                           \
    }                                                                                             \
    b += STEP;                                                                                    \
  }
/* The AVX2 kernel, c[R × 48] = init + a[R × kc] · b[kc × 48] over a split panel (gemm_split: its
 * 24-column halves one after the other, half 1's rows `half` values after half 0's) of values of
 * type T, ROWS k rows a step: one half after the other, each R × 3 accumulators, each half with
 * its own fetch ahead (pf_lines lines from pf, and from pf + half values). The products are the
 * AVX-512 kernel's bit for bit (each y is bias (+ r), then one FMA per k in order). */
#define GEMM2_KERNEL_ROWS(NAME, R, T, VEC, ROWS)                                                  \
  static void NAME(int kc, const float *a, long lda, const void *panel, float *c, long ldc,       \
                   const gemm_mask_t *mask, int init, const float *bias, const float *r,          \
                   const char *pf, long pf_lines, long half) {                                    \
    int halves = _mm256_testz_si256(mask[3], mask[3]) ? 1 : 2; /* columns 24.. exist */          \
    const char *pf0 = pf;                                                                         \
    for (int h = 0; h < halves; h++) {                                                            \
      const T *b = (const T *) panel + h * half;                                                  \
      long pf_acc = 0;                                                                            \
      pf = pf0 == NULL ? NULL : pf0 + h * half * (long) sizeof(T);                                \
      __m256 acc[R][3];                                                                           \
      for (int i = 0; i < R; i++) {                                                               \
        for (int j = 0; j < 3; j++) acc[i][j] = gemm2_start(mask, 3 * h + j, init, bias, r, c, i, \
                                                            ldc);                                 \
      }                                                                                           \
      GEMM2_HALF_LOOP(R, T, VEC, ROWS)                                                            \
      for (int i = 0; i < R; i++) {                                                               \
        for (int j = 0; j < 3; j++) {                                                             \
          store8(c + i * ldc + 8 * (3 * h + j), mask[3 * h + j], acc[i][j]);                     \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
  }
/* The same for R ≤ 2 rows over all 48 columns at once (R × 6 accumulators), the two halves read
 * as two streams: a half at a time gives a row 3 FMA chains, too few to cover their latency.
 * (With two rows GCC keeps a copy of the 12 accumulators on the stack, stored every k row; two
 * rows are memory-bound, and this still ran them faster than the half kernel: a 100M step of
 * GEMMs 14–15 against 16–18 ms.) */
#define GEMM2_KERNEL_WIDE(NAME, R, T, VEC, ROWS)                                                  \
  static void NAME(int kc, const float *a, long lda, const void *panel, float *c, long ldc,       \
                   const gemm_mask_t *mask, int init, const float *bias, const float *r,          \
                   const char *pf, long pf_lines, long half) {                                    \
    enum { STEP = ROWS * (NR / 2) };                                                              \
    long pf_acc = 0;                                                                              \
    const T *b = (const T *) panel;                                                               \
    __m256 acc[R][6];                                                                             \
    for (int i = 0; i < R; i++) {                                                                 \
      for (int g = 0; g < 6; g++) acc[i][g] = gemm2_start(mask, g, init, bias, r, c, i, ldc);     \
    }                                                                                             \
    for (int kk = 0; kk < kc; kk += ROWS) {                                                       \
      for (unsigned l = 0; l < STEP * sizeof(T); l += 64) { /* the rows PF_ROWS ahead */          \
        _mm_prefetch((const char *) (b + PF_ROWS / ROWS * STEP) + l, _MM_HINT_T0);                \
        _mm_prefetch((const char *) (b + half + PF_ROWS / ROWS * STEP) + l, _MM_HINT_T0);         \
      }                                                                                           \
      for (pf_acc += ROWS * pf_lines; pf_acc >= kc; pf_acc -= kc, pf += PF_STRIDE) {              \
        _mm_prefetch(pf, _MM_HINT_T1);                                                            \
        _mm_prefetch(pf + half * (long) sizeof(T), _MM_HINT_T1);                                  \
      }                                                                                           \
      for (int q = 0; q < ROWS; q++) {                                                            \
        for (int i = 0; i < R; i++) {                                                             \
          __m256 ai = _mm256_broadcast_ss(a + i * lda + kk + q);                                  \
          for (int g = 0; g < 6; g++) {                                                           \
            acc[i][g] = _mm256_fmadd_ps(ai, VEC(b + g / 3 * half, g % 3, q), acc[i][g]);          \
          }                                                                                       \
        }                                                                                         \
      }                                                                                           \
      b += STEP;                                                                                  \
    }                                                                                             \
    for (int i = 0; i < R; i++) {                                                                 \
      for (int g = 0; g < 6; g++) store8(c + i * ldc + 8 * g, mask[g], acc[i][g]);               \
    }                                                                                             \
  }

/* The bfloat16 4-row kernel: GEMM2_KERNEL_ROWS's, with each k-row pair's widening and FMAs
 * written out in assembly. In C, GCC kept 2–12 of the 12 accumulators on the stack in every form
 * tried (a compiler barrier between the pair's rows, the second row's loads made to wait on the
 * first's FMAs, the accumulators pinned), 2.2–3.7× slower; here they stay in 12 registers
 * (scalars, not an array, which GCC stored back after each asm), ymm0–3 hold a row's three
 * vectors and the broadcast. */
#define GEMM2_BF16_ROW(WORD, AT)                                                                  \
  "vmovdqa " WORD "(%[b]), %%ymm0\n\t"                                                            \
  "vpand %[mask], %%ymm0, %%ymm1\n\t"                                                             \
  "vpslld $16, %%ymm0, %%ymm0\n\t"                                                                \
  "vmovdqa 64(%[b]), %%ymm2\n\t"
#define GEMM2_BF16_FMAS(AT)                                                                       \
  "vbroadcastss " AT "(%[a0]), %%ymm3\n\t"                                                        \
  "vfmadd231ps %%ymm0, %%ymm3, %[c00]\n\t"                                                        \
  "vfmadd231ps %%ymm1, %%ymm3, %[c01]\n\t"                                                        \
  "vfmadd231ps %%ymm2, %%ymm3, %[c02]\n\t"                                                        \
  "vbroadcastss " AT "(%[a0],%[lda]), %%ymm3\n\t"                                                 \
  "vfmadd231ps %%ymm0, %%ymm3, %[c10]\n\t"                                                        \
  "vfmadd231ps %%ymm1, %%ymm3, %[c11]\n\t"                                                        \
  "vfmadd231ps %%ymm2, %%ymm3, %[c12]\n\t"                                                        \
  "vbroadcastss " AT "(%[a0],%[lda],2), %%ymm3\n\t"                                               \
  "vfmadd231ps %%ymm0, %%ymm3, %[c20]\n\t"                                                        \
  "vfmadd231ps %%ymm1, %%ymm3, %[c21]\n\t"                                                        \
  "vfmadd231ps %%ymm2, %%ymm3, %[c22]\n\t"                                                        \
  "vbroadcastss " AT "(%[a3]), %%ymm3\n\t"                                                        \
  "vfmadd231ps %%ymm0, %%ymm3, %[c30]\n\t"                                                        \
  "vfmadd231ps %%ymm1, %%ymm3, %[c31]\n\t"                                                        \
  "vfmadd231ps %%ymm2, %%ymm3, %[c32]\n\t"
static void gemm_kernel_bf16_4(int kc, const float *a, long lda, const void *panel, float *c,
                               long ldc, const gemm_mask_t *mask, int init, const float *bias,
                               const float *r, const char *pf, long pf_lines, long half) {
  int halves = _mm256_testz_si256(mask[3], mask[3]) ? 1 : 2; /* columns 24.. exist */
  const char *pf0 = pf;
  for (int h = 0; h < halves; h++) {
    const uint16_t *b = (const uint16_t *) panel + h * half;
    long pf_acc = 0;
    pf = pf0 == NULL ? NULL : pf0 + h * half * (long) sizeof(uint16_t);
#define START(i, j) gemm2_start(mask, 3 * h + (j), init, bias, r, c, i, ldc)
    __m256 c00 = START(0, 0), c01 = START(0, 1), c02 = START(0, 2);
    __m256 c10 = START(1, 0), c11 = START(1, 1), c12 = START(1, 2);
    __m256 c20 = START(2, 0), c21 = START(2, 1), c22 = START(2, 2);
    __m256 c30 = START(3, 0), c31 = START(3, 1), c32 = START(3, 2);
#undef START
    const float *a0 = a, *a3 = a + 3 * lda;
    long lda_bytes = lda * (long) sizeof(float);
    for (int kk = 0; kk < kc; kk += 2, a0 += 2, a3 += 2, b += NR) {
      const char *ahead = (const char *) (b + PF_ROWS / 2 * NR);
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + 64, _MM_HINT_T0);
      for (pf_acc += 2 * pf_lines; pf_acc >= kc; pf_acc -= kc, pf += PF_STRIDE) {
        _mm_prefetch(pf, _MM_HINT_T1);
      }
      __asm__(GEMM2_BF16_ROW("0", "0") "vpslld $16, %%ymm2, %%ymm2\n\t" GEMM2_BF16_FMAS("0")
              GEMM2_BF16_ROW("32", "4") "vpand %[mask], %%ymm2, %%ymm2\n\t" GEMM2_BF16_FMAS("4")
              : [c00] "+x"(c00), [c01] "+x"(c01), [c02] "+x"(c02), [c10] "+x"(c10),
                [c11] "+x"(c11), [c12] "+x"(c12), [c20] "+x"(c20), [c21] "+x"(c21),
                [c22] "+x"(c22), [c30] "+x"(c30), [c31] "+x"(c31), [c32] "+x"(c32)
              : [b] "r"(b), [a0] "r"(a0), [a3] "r"(a3), [lda] "r"(lda_bytes),
                [mask] "m"(bf16_high)
              : "xmm0", "xmm1", "xmm2", "xmm3", "memory"); /* it reads b's and a's rows */
    }
    __m256 acc[4][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 3; j++) store8(c + i * ldc + 8 * (3 * h + j), mask[3 * h + j], acc[i][j]);
    }
  }
}

#define GEMM2_KERNEL(R) GEMM2_KERNEL_ROWS(gemm_kernel_##R, R, float, VEC2_F32, 1)
#define GEMM2_KERNEL_F16(R) GEMM2_KERNEL_ROWS(gemm_kernel_f16_##R, R, uint16_t, VEC2_F16, 1)
GEMM2_KERNEL_WIDE(gemm_kernel_1, 1, float, VEC2_F32, 1)
GEMM2_KERNEL_WIDE(gemm_kernel_2, 2, float, VEC2_F32, 1)
GEMM2_KERNEL(3)
GEMM2_KERNEL(4)
GEMM2_KERNEL_WIDE(gemm_kernel_bf16_1, 1, uint16_t, VEC2_BF16, 2)
GEMM2_KERNEL_WIDE(gemm_kernel_bf16_2, 2, uint16_t, VEC2_BF16, 2)
GEMM2_KERNEL_ROWS(gemm_kernel_bf16_3, 3, uint16_t, VEC2_BF16, 2)
GEMM2_KERNEL_WIDE(gemm_kernel_f16_1, 1, uint16_t, VEC2_F16, 1)
GEMM2_KERNEL_WIDE(gemm_kernel_f16_2, 2, uint16_t, VEC2_F16, 1)
GEMM2_KERNEL_F16(3)
GEMM2_KERNEL_F16(4)
typedef void (*gemm_kernel_fn)(int, const float *, long, const void *, float *, long,
                               const gemm_mask_t *, int, const float *, const float *,
                               const char *, long, long);
static const gemm_kernel_fn gemm_kernels[3][MR + 1] = {
    {NULL, gemm_kernel_1, gemm_kernel_2, gemm_kernel_3, gemm_kernel_4},
    {NULL, gemm_kernel_bf16_1, gemm_kernel_bf16_2, gemm_kernel_bf16_3, gemm_kernel_bf16_4},
    {NULL, gemm_kernel_f16_1, gemm_kernel_f16_2, gemm_kernel_f16_3, gemm_kernel_f16_4}};

/* The masks of a panel's six 8-column vectors when w of its 48 columns exist. */
static inline void panel_masks(int w, gemm_mask_t *mask) {
  for (int j = 0; j < MASKS; j++) {
    int cols = w - 8 * j;
    mask[j] = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
}
#endif

/* A tile shared by its row blocks: taken counts the blocks handed out; ready once published. Up
 * to two a segment (its last from the front and from the back) for teams of up to 8; past the
 * slots, last tiles run whole. */
enum { COOP_SLOTS = 2 * 8 };
struct gemm_coop {
  long tile;
  int blocks, taken, ready;
};

struct gemm_job {
  const float *x, *bias;
  const char *packed; /* the panels, past the header */
  float *y;
  const float *w; /* packing: the (n, k) source */
  int layout, m, n, k, mc, panels;
  const float *residual; /* (m, n) added to y, or null */
  int next;              /* packing: the next panel */
  int split;             /* a SwiGLU weight's half (packing, and gemm_glu_run), else 0 */
  int gate;              /* its gate (GATE_SILU, GATE_GELU_TANH) */
  struct share tiles;    /* a tile: a block of up to mc rows × one panel (SwiGLU: a pair) */
  int coops;             /* segments' last tiles shared by row blocks (gemm_one), slots taken */
  struct gemm_coop coop[COOP_SLOTS];
  const char *then;   /* the weight the next GEMM over these rows multiplies by, or null */
  const uint16_t *xs; /* PACKED_AMX: x split in three bfloat16 planes (amx_split) */
  long xs_ld, xs_plane; /* their row stride and plane size, in values */
};

/* Panels of an (n, k) weight: 48 columns each, or for a SwiGLU weight (split > 0) as many for
 * each half. */
static inline int gemm_panels(int n, int split) {
  return split > 0 ? 2 * ((split + NR - 1) / NR) : (n + NR - 1) / NR;
}

/* Bytes of one k row of a panel, and of a whole panel. */
static inline long gemm_row_bytes(int layout) { return layout == PACKED_F32 ? NR * 4 : NR * 2; }

/* Whether a layout's panels are split into their 24-column halves (every AVX2 layout): all k
 * rows of columns 0–23, then those of columns 24–47, so that the 4-row kernel, which runs one half
 * after the other, reads each of a chunk's lines once a pass instead of a line shared by the
 * halves twice. A half's k row is 24 values (float32, float16); bfloat16 halves hold k-row pairs
 * as three 8-lane words of 32 bits (bf16_pair_columns), so that one load serves two vectors (a
 * shift widens the low halves, a mask the high ones). On the AVX2 host a 100M model's step of
 * GEMMs at 32 rows ran 36.6–36.9 ms against 40.9–41.4 (float32), at 8 rows 14.7–15.0 against
 * 19.2–19.8 (docs/benchmarks.md, session 26). */
static inline int gemm_split(int layout) { return HAVE_GEMM == 256 && layout != PACKED_AMX; }

/* Where column j (0..47) of k row kk of a k-row panel sits, in values from the panel's start,
 * for every layout but AVX-512's bfloat16 and AMX's (which pair k rows their own ways). */
static inline long panel_slot(int layout, int k, int kk, int j) {
  if (!gemm_split(layout)) return (long) kk * NR + j;
  long half = (long) (j / 24) * k * 24;
  int col = j % 24;
  if (layout != PACKED_BF16) return half + (long) kk * 24 + col;
  long pair = half + (long) (kk / 2) * 48; /* words: row kk | kk + 1 columns 0–15, both 16–23 */
  return col < 16 ? pair + 16 * (kk % 2) + 2 * (col % 8) + col / 8
                  : pair + 32 + 2 * (col - 16) + kk % 2;
}
static inline int amx_depth(int k) { return (k + 31) / 32 * 32; } /* k padded for tile loads */
static inline long gemm_panel_bytes(int layout, int k) {
  return (layout == PACKED_AMX ? amx_depth(k) : k) * gemm_row_bytes(layout);
}


#ifdef HAVE_AMX
/* The tile registers' shapes: 0–2 y (rows × 16 floats), 3–5 W (16 k-row pairs × 16 columns of
 * pairs), 6–7 x (rows × 32 bfloat16). */
struct amx_config {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static __thread int amx_rows; /* rows this thread's tiles are configured for in the current GEMM
                               * (gemm_worker releases them at its end); 0: none */
/* k rows a panel is prefetched ahead of the tiles' loads, into L1 and into L2: with 1 and 32
 * rows, 128 into L1 ran 1.3–1.4× faster than no prefetch and 7–13% faster than 256 into L2
 * alone; spreading its lines over the k block's three parts and adding 512 into L2 gained
 * 3–16% more (docs/benchmarks.md, session 13) */
enum { AMX_AHEAD = 128, AMX_AHEAD_L2 = 512 };

/* Lines [l0, l0 + 16) of a 32-k-row block from pf into L1 and from pf2 into L2. */
static inline void amx_prefetch(const char *pf, const char *pf2, int l0) {
  for (int l = l0; l < l0 + 16; l++) {
    _mm_prefetch(pf + 64 * l, _MM_HINT_T0);
    _mm_prefetch(pf2 + 64 * l, _MM_HINT_T1);
  }
}

static void amx_configure(int rows) {
  if (amx_rows == rows) return;
  struct amx_config c;
  memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; t++) {
    c.rows[t] = t >= 3 && t < 6 ? 16 : rows;
    c.colsb[t] = 64;
  }
  _tile_loadconfig(&c);
  amx_rows = rows;
}

/* Rows [r0, r1) of x (its three planes at jb->xs) times PACKED_AMX panel p into y as
 * gemm_panel_rows does: 16 rows a block, three k-row-pair tiles of W loaded once per 32 k rows
 * and used by each plane's x tile, the y tiles then stored to scratch and added to the bias and
 * residual. */
static void amx_panel_rows(const struct gemm_job *jb, int p, int r0, int r1, int w, float *y,
                           long ldc, const float *bias, const float *residual) {
  const uint16_t *panel =
      (const uint16_t *) (jb->packed + p * gemm_panel_bytes(PACKED_AMX, jb->k));
  int kp = amx_depth(jb->k);
  long lda = 2 * jb->xs_ld, plane = jb->xs_plane;
  float c[16 * NR] __attribute__((aligned(64)));
  __mmask16 mask[3];
  panel_masks(w, mask);
  for (int rb = r0; rb < r1; rb += 16) {
    int rows = r1 - rb < 16 ? r1 - rb : 16;
    amx_configure(rows);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    const uint16_t *a = jb->xs + (long) rb * jb->xs_ld;
    for (int k0 = 0; k0 < kp; k0 += 32, a += 32) {
      const uint16_t *b = panel + (long) k0 * NR; /* k0 / 2 pairs of 2·NR values */
      /* the panel streams in once, with the first row block: these 32 k rows' 48 lines, AMX_AHEAD
       * rows ahead into L1 and AMX_AHEAD_L2 into L2 (past its end: the next panel's start), a
       * third before each part's products; later row blocks find it in L2 */
      const char *pf = (const char *) (b + AMX_AHEAD * NR);
      const char *pf2 = (const char *) (b + AMX_AHEAD_L2 * NR);
      int first = rb == r0;
      _tile_loadd(3, b, 4 * NR);
      _tile_loadd(4, b + 32, 4 * NR);
      _tile_loadd(5, b + 64, 4 * NR);
      if (first) amx_prefetch(pf, pf2, 0);
      _tile_loadd(6, a, lda);
      _tile_dpbf16ps(0, 6, 3);
      _tile_dpbf16ps(1, 6, 4);
      _tile_dpbf16ps(2, 6, 5);
      if (first) amx_prefetch(pf, pf2, 16);
      _tile_loadd(7, a + plane, lda);
      _tile_dpbf16ps(0, 7, 3);
      _tile_dpbf16ps(1, 7, 4);
      _tile_dpbf16ps(2, 7, 5);
      if (first) amx_prefetch(pf, pf2, 32);
      _tile_loadd(6, a + 2 * plane, lda);
      _tile_dpbf16ps(0, 6, 3);
      _tile_dpbf16ps(1, 6, 4);
      _tile_dpbf16ps(2, 6, 5);
    }
    _tile_stored(0, c, 4 * NR);
    _tile_stored(1, c + 16, 4 * NR);
    _tile_stored(2, c + 32, 4 * NR);
    for (int i = 0; i < rows; i++) {
      float *yi = y + (long) (rb - r0 + i) * ldc;
      const float *ri = residual == NULL ? NULL : residual + (long) (rb - r0 + i) * ldc;
      for (int j = 0; j < 3; j++) {
        __m512 add = bias == NULL ? _mm512_setzero_ps()
                                  : _mm512_maskz_loadu_ps(mask[j], bias + 16 * j);
        if (ri != NULL) add = _mm512_add_ps(add, _mm512_maskz_loadu_ps(mask[j], ri + 16 * j));
        __m512 product = _mm512_load_ps(c + i * NR + 16 * j);
        _mm512_mask_storeu_ps(yi + 16 * j, mask[j], _mm512_add_ps(add, product));
      }
    }
  }
}

/* Rows [r0, r1) of x (m, k) into three bfloat16 planes of (m, ld) values (ld ≥ amx_depth(k),
 * zeros past k): hi = bf16(x), mid = bf16(x − hi), lo = bf16(x − hi − mid), each rounded to
 * nearest even. */
static void amx_split(const float *x, int m, int k, long ld, uint16_t *xs, int r0, int r1) {
  long plane = (long) m * ld;
  int kp = amx_depth(k);
  for (int r = r0; r < r1; r++) {
    const float *xr = x + (long) r * k;
    uint16_t *h = xs + (long) r * ld;
    for (int kk = 0; kk < kp; kk += 32) {
      int n0 = k - kk, n1 = k - kk - 16;
      __mmask16 m0 = n0 >= 16 ? 0xFFFF : n0 <= 0 ? 0 : (__mmask16) ((1u << n0) - 1);
      __mmask16 m1 = n1 >= 16 ? 0xFFFF : n1 <= 0 ? 0 : (__mmask16) ((1u << n1) - 1);
      /* the rest still to split of values kk.. (x0) and kk + 16.. (x1) */
      __m512 x0 = _mm512_maskz_loadu_ps(m0, xr + kk), x1 = _mm512_maskz_loadu_ps(m1, xr + kk + 16);
      for (int q = 0; q < 3; q++) {
        __m512i part = (__m512i) _mm512_cvtne2ps_pbh(x1, x0); /* x0's 16 values, then x1's */
        _mm512_storeu_si512((void *) (h + q * plane + kk), part);
        __m512 back0 = _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(part)), 16));
        __m512 back1 = _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(part, 1)), 16));
        x0 = _mm512_sub_ps(x0, back0);
        x1 = _mm512_sub_ps(x1, back1);
      }
    }
  }
}

struct split_job {
  const float *x;
  uint16_t *xs;
  int m, k, next; /* next: the first row no thread has taken */
  long ld;
};

/* Blocks of 16 rows, taken as threads come (however many the team has). */
static void amx_split_worker(void *arg) {
  struct split_job *sj = (struct split_job *) arg;
  for (int r; (r = __atomic_fetch_add(&sj->next, 16, __ATOMIC_RELAXED)) < sj->m;) {
    amx_split(sj->x, sj->m, sj->k, sj->ld, sj->xs, r, r + 16 < sj->m ? r + 16 : sj->m);
  }
}
#endif

/* Whether bfloat16 weights may take PACKED_AMX here: the CPU has AMX (this build), and the
 * kernel granted this process the tile state (asked once: Linux hands it out on request only;
 * amx_refusal keeps its errno where it did not). */
static int amx_granted;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;
#ifdef HAVE_AMX
static int amx_refusal;
#endif
static void amx_request(void) {
#ifdef HAVE_AMX
  amx_granted = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */,
                        18 /* XFEATURE_XTILEDATA */) == 0;
  amx_refusal = amx_granted ? 0 : errno;
#endif
}
static int amx_usable(void) {
  pthread_once(&amx_once, amx_request);
  return amx_granted;
}

/* Where chunk ch of `chunks` over k rows starts: even for bfloat16 panels (rows come in pairs). */
static inline int gemm_chunk_start(int layout, int k, int ch, int chunks) {
  if (ch == chunks) return k;
  return layout == PACKED_BF16 ? (int) ((long) (k / 2) * ch / chunks) * 2
                               : (int) ((long) k * ch / chunks);
}

/* Rows [r0, r1) of x times panel p, columns c0 = 48p.. (w of them) of the product into y (row r0
 * at y, rows ldc apart), starting from bias + c0 (null: 0) and, where residual is not null, its
 * rows (laid out as y's); while it runs, the first chunk of panel `after` (−1: none) is
 * prefetched. */
static void gemm_panel_rows(const struct gemm_job *jb, int p, int r0, int r1, int w, float *y,
                            long ldc, const float *bias, const float *residual, long after) {
#ifdef HAVE_AMX
  if (jb->layout == PACKED_AMX) {
    amx_panel_rows(jb, p, r0, r1, w, y, ldc, bias, residual);
    return;
  }
#endif
  int k = jb->k, chunks = (k + KC - 1) / KC;
  /* bytes from one k row to the next in what a kernel walks: a row, or a split panel's half-row */
  long row_bytes = gemm_row_bytes(jb->layout) / (gemm_split(jb->layout) ? 2 : 1);
  long panel_bytes = gemm_panel_bytes(jb->layout, k);
  long half = gemm_split(jb->layout) ? (long) k * (NR / 2) : 0; /* values from half 0 to 1 */
  const gemm_kernel_fn *kernels = gemm_kernels[jb->layout];
  gemm_mask_t mask[MASKS];
  panel_masks(w, mask);
  const char *panel = jb->packed + p * panel_bytes;
  const char *next_panel = after < 0 ? NULL : jb->packed + after * panel_bytes;
  int calls = (r1 - r0 + MR - 1) / MR;
  for (int ch = 0; ch < chunks; ch++) {
    int k0 = gemm_chunk_start(jb->layout, k, ch, chunks);
    int k1 = gemm_chunk_start(jb->layout, k, ch + 1, chunks);
    /* what to prefetch while this chunk runs: the next chunk, or the next tile's first where
     * this one serves several row blocks (with up to 8 rows the stream is memory-bound, and
     * reading a panel ahead measured ~15% slower than the in-panel prefetch alone); of a split
     * panel, half 0's share (the kernel fetches half 1's at pf + half values) */
    const char *pf = NULL;
    long lines = 0;
    if (ch + 1 < chunks) {
      pf = panel + (long) k1 * row_bytes;
      lines = (gemm_chunk_start(jb->layout, k, ch + 2, chunks) - k1) * row_bytes / PF_STRIDE;
    } else if (next_panel != NULL && calls > 1) {
      pf = next_panel;
      lines = gemm_chunk_start(jb->layout, k, 1, chunks) * row_bytes / PF_STRIDE;
    }
    const void *chunk = panel + (long) k0 * row_bytes;
    for (int r = r0, call = 0; r < r1; r += MR, call++) {
      int rows = r1 - r < MR ? r1 - r : MR;
      long l0 = lines * call / calls, l1 = lines * (call + 1) / calls;
      kernels[rows](k1 - k0, jb->x + (long) r * k + k0, k, chunk, y + (long) (r - r0) * ldc, ldc,
                    mask, ch > 0 ? 0 : residual != NULL ? 2 : 1, bias == NULL ? NULL : bias,
                    residual == NULL ? NULL : residual + (long) (r - r0) * ldc,
                    pf == NULL ? NULL : pf + l0 * PF_STRIDE, pf == NULL ? 0 : l1 - l0, half);
    }
  }
}

/* Rows [lo, hi) of tile t (row block t / panels, mc rows, × panel t % panels; lo, hi within the
 * block: 0, mc for all of it); while they run, the first chunk of tile `after` (the one this
 * thread expects to take next; -1: none) is prefetched. (A 16-bit panel chunk serving several
 * row blocks is widened in registers by each block's kernel: widening it once into float32
 * scratch for the float32 kernel measured 4–5% slower at 32 rows.) */
static void gemm_tile(const struct gemm_job *jb, long t, int lo, int hi, long after) {
  int m = jb->m, n = jb->n;
  int r0 = (int) (t / jb->panels) * jb->mc, p = (int) (t % jb->panels);
  int r1 = r0 + hi < m ? r0 + hi : m, c0 = p * NR, w = n - c0 < NR ? n - c0 : NR;
  r0 += lo;
  gemm_panel_rows(jb, p, r0, r1, w, jb->y + (long) r0 * n + c0, n,
                  jb->bias == NULL ? NULL : jb->bias + c0,
                  jb->residual == NULL ? NULL : jb->residual + (long) r0 * n + c0,
                  after < 0 ? -1 : after % jb->panels);
}

static void silu_mul_span(const float *g, const float *u, float *o, int w);
static void gelu_tanh_mul_span(const float *g, const float *u, float *o, int w);

/* Rows [lo, hi) of SwiGLU tile t (row block t / pairs × pair q = t % pairs): the gate and up
 * products of columns 48q.. (each panel into scratch), then y = silu(gate) · up there, as
 * silu_mul_row would have made them from the whole gate|up product: the same numbers without
 * that (m, 2I) product's pass through memory, or a separate pass over it. */
static void gemm_glu_tile(const struct gemm_job *jb, long t, int lo, int hi, long after) {
  int pairs = jb->panels / 2, m = jb->m, n = jb->split;
  int r0 = (int) (t / pairs) * jb->mc, q = (int) (t % pairs);
  int r1 = r0 + hi < m ? r0 + hi : m, c0 = q * NR, w = n - c0 < NR ? n - c0 : NR;
  r0 += lo;
  float g[MC * NR] __attribute__((aligned(64))), u[MC * NR] __attribute__((aligned(64)));
  gemm_panel_rows(jb, 2 * q, r0, r1, w, g, NR, jb->bias == NULL ? NULL : jb->bias + c0, NULL,
                  2 * q + 1);
  gemm_panel_rows(jb, 2 * q + 1, r0, r1, w, u, NR, jb->bias == NULL ? NULL : jb->bias + n + c0,
                  NULL, after < 0 ? -1 : 2 * (after % pairs));
  void (*gated)(const float *, const float *, float *, int) =
      jb->gate == GATE_GELU_TANH ? gelu_tanh_mul_span : silu_mul_span;
  for (int r = r0; r < r1; r++) {
    gated(g + (long) (r - r0) * NR, u + (long) (r - r0) * NR, jb->y + (long) r * n + c0, w);
  }
}

/* Runs a shared tile's row blocks (MR rows each) until none is left. */
static void gemm_coop_help(struct gemm_job *jb, struct gemm_coop *co) {
  for (int b; (b = __atomic_fetch_add(&co->taken, 1, __ATOMIC_RELAXED)) < co->blocks;) {
    (jb->split > 0 ? gemm_glu_tile : gemm_tile)(jb, co->tile, b * MR, (b + 1) * MR, -1);
  }
}

/* Whether no tile is left to take in the segment holding tile t. */
static int gemm_segment_done(const struct gemm_job *jb, long t) {
  const struct share *sh = &jb->tiles;
  for (int s = 0; s < sh->team; s++) {
    long lo, hi;
    share_segment(sh, s, &lo, &hi);
    if (t >= lo && t < hi) {
      uint64_t v = __atomic_load_n(&sh->taken[s], __ATOMIC_RELAXED);
      return lo + (long) (v & 0xFFFFFFFFu) + (long) (v >> 32) >= hi;
    }
  }
  return 0;
}

static int gemm_one(void *ctx, long t, long next) {
  struct gemm_job *jb = (struct gemm_job *) ctx;
  int rows = (int) (t / (jb->split > 0 ? jb->panels / 2 : jb->panels)) * jb->mc;
  rows = jb->m - rows < jb->mc ? jb->m - rows : jb->mc;
  if (jb->tiles.team > 1 && rows > MR && gemm_segment_done(jb, t)) {
    /* a segment's last tile: shared by row blocks with whoever is done (gemm_worker) */
    int i = __atomic_fetch_add(&jb->coops, 1, __ATOMIC_RELAXED);
    if (i < COOP_SLOTS) {
      struct gemm_coop *co = &jb->coop[i];
      co->tile = t;
      co->blocks = (rows + MR - 1) / MR;
      __atomic_store_n(&co->ready, 1, __ATOMIC_RELEASE);
      gemm_coop_help(jb, co);
      return 0;
    }
  }
  (jb->split > 0 ? gemm_glu_tile : gemm_tile)(jb, t, 0, jb->mc, next);
  return 0;
}

/* Row blocks of an m-row GEMM: equal, a multiple of MR, at most MC rows (a thread's share never
 * ends on a sliver). */
static inline int gemm_block_rows(int m) {
  int blocks = (m + MC - 1) / MC;
  return ((m + blocks - 1) / blocks + MR - 1) / MR * MR;
}

/* Into L2: the start of the first tile thread `me` of a team of `team` will take in an m-row GEMM
 * by `packed` (its first chunk, at most PF_START bytes of each panel), so that GEMM's first
 * kernel calls do not wait on memory: a thread done with a phase (a GEMM, attention) issues it
 * while it waits for the team, under the arithmetic of whoever is still busy. */
enum { PF_START = 48 << 10 };
static void gemm_prefetch_start(const char *packed, int m, int team, int me) {
  if (packed == NULL || me < 0) return;
  const struct packed_header *h = (const struct packed_header *) packed;
  if (h->layout == PACKED_AMX) return;
  int panels = gemm_panels(h->n, h->split), per = h->split > 0 ? panels / 2 : panels;
  long tiles = (long) ((m + gemm_block_rows(m) - 1) / gemm_block_rows(m)) * per;
  long t = team > 1 ? tiles * me / team : 0;
  int p = (int) (t % per) * (h->split > 0 ? 2 : 1);
  long panel_bytes = gemm_panel_bytes(h->layout, h->k);
  long chunk = (long) gemm_chunk_start(h->layout, h->k, 1, (h->k + KC - 1) / KC)
               * gemm_row_bytes(h->layout);
  long bytes = chunk < PF_START ? chunk : PF_START;
  int parts = gemm_split(h->layout) ? 2 : 1; /* a split panel's chunk: the start of each half */
  for (int i = 0; i < (h->split > 0 ? 2 : 1); i++) {
    for (int q = 0; q < parts; q++) {
      const char *start = packed + HEADER + (p + i) * panel_bytes + q * (panel_bytes / 2);
      for (long b = 0; b < bytes / parts; b += 64) _mm_prefetch(start + b, _MM_HINT_T1);
    }
  }
}

/* Tiles shared by segments (share_walk), the next panel prefetched under the current one: a
 * thread that starts late or is preempted (a shared host, the JVM's own threads) costs the step a
 * tile, not a share. With two threads this ran a 100M model's step of GEMMs 3–9% faster at 1–32
 * rows than eighth-ranges taken as threads came, which left one thread idle for up to a range at
 * the end (docs/benchmarks.md, session 9). Each segment's last tile is then shared by its row
 * blocks: a thread done with every tile helps with those instead of waiting up to a tile (a
 * 32-row tile of a 2048-deep weight is ~30 µs) for the team's end. */
static void gemm_worker(void *arg) {
  struct gemm_job *jb = (struct gemm_job *) arg;
  share_walk(&jb->tiles, gemm_one, jb, NULL);
  int coops = __atomic_load_n(&jb->coops, __ATOMIC_RELAXED);
  for (int i = 0; i < coops && i < COOP_SLOTS; i++) {
    if (__atomic_load_n(&jb->coop[i].ready, __ATOMIC_ACQUIRE)) gemm_coop_help(jb, &jb->coop[i]);
  }
  gemm_prefetch_start(jb->then, jb->m, jb->tiles.team,
                      jb->tiles.team > 1 && gomp_thread_num != NULL ? gomp_thread_num() : 0);
#ifdef HAVE_AMX
  if (amx_rows != 0) { /* the tiles back to their initial state: nothing else on this thread
                        * (libtorch's own OpenMP work) finds them configured, and the kernel
                        * need not save them when it switches the thread out */
    _tile_release();
    amx_rows = 0;
  }
#endif
}

static inline uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* Whether a layout's values sit at panel_slot (all but AVX-512's bfloat16 and AMX's), and one
 * value there written (x as the layout holds it) or read back as its float. */
static inline int gemm_slotted(int layout) {
  return layout == PACKED_F32 || layout == PACKED_F16 || gemm_split(layout);
}
static inline void slot_store(int layout, char *panel, long at, float x) {
  if (layout == PACKED_F32) {
    ((float *) panel)[at] = x;
  } else {
    ((uint16_t *) panel)[at] = layout == PACKED_F16 ? _cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT)
                                                    : (uint16_t) (float_bits(x) >> 16);
  }
}
static inline float slot_load(int layout, const char *panel, long at) {
  if (layout == PACKED_F32) return ((const float *) panel)[at];
  uint16_t v = ((const uint16_t *) panel)[at];
  if (layout == PACKED_F16) return _cvtsh_ss(v);
  uint32_t bits = (uint32_t) v << 16; /* a bfloat16's float */
  float x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

/* The source row of column j of panel p, or −1 past the weight (zeros): panels in order, or a
 * SwiGLU weight's in gate/up pairs. */
static inline int gemm_pack_row(const struct gemm_job *jb, int p, int j) {
  if (jb->split == 0) return p * NR + j < jb->n ? p * NR + j : -1;
  int col = (p / 2) * NR + j;
  return col < jb->split ? (p % 2) * jb->split + col : -1;
}

/* Panel p of the packed copy from the row-major (n, k) source. */
static void gemm_pack_worker(void *arg) {
  struct gemm_job *jb = (struct gemm_job *) arg;
  int k = jb->k;
  for (int p; (p = __atomic_fetch_add(&jb->next, 1, __ATOMIC_RELAXED)) < jb->panels;) {
    char *panel = (char *) jb->packed + p * gemm_panel_bytes(jb->layout, k);
    if (gemm_slotted(jb->layout)) { /* the copy was zeroed: columns past n stay 0 */
      for (int j = 0; j < NR; j++) {
        int row = gemm_pack_row(jb, p, j);
        const float *src = jb->w + (long) row * k;
        for (int kk = 0; row >= 0 && kk < k; kk++) {
          slot_store(jb->layout, panel, panel_slot(jb->layout, k, kk, j), src[kk]);
        }
      }
      continue;
    }
    if (jb->layout == PACKED_AMX) { /* per k row pair: 48 columns of (row k, row k + 1) */
      uint16_t *dst = (uint16_t *) panel;
      for (int j = 0; j < NR; j++) {
        int row = gemm_pack_row(jb, p, j);
        const float *src = jb->w + (long) row * k;
        for (int kk = 0; row >= 0 && kk < k; kk++) {
          dst[(long) (kk / 2) * 2 * NR + 2 * j + kk % 2] = (uint16_t) (float_bits(src[kk]) >> 16);
        }
      }
      continue;
    }
    uint32_t *dst = (uint32_t *) panel;
    /* per row pair: 3 words of 16 lanes */
    for (int j = 0; j < NR; j++) {
      int row = gemm_pack_row(jb, p, j);
      const float *src = jb->w + (long) row * k;
      int word = j < 32 ? 0 : 2, lane = j % 16, half = j < 32 ? j / 16 : 0;
      for (int kk = 0; kk < k; kk++) {
        uint32_t v = row >= 0 ? float_bits(src[kk]) >> 16 : 0;
        /* columns 0–31: word (kk % 2), half j / 16; columns 32–47: word 2, half kk % 2 */
        int wd = j < 32 ? word + kk % 2 : word, hf = j < 32 ? half : kk % 2;
        dst[(long) (kk / 2) * 48 + wd * 16 + lane] |= v << (16 * hf);
      }
    }
  }
}

/* Whether every one of the n floats is an IEEE half exactly (it survives the round trip). */
static int all_f16(const float *w, long n) {
  long i = 0;
#if HAVE_GEMM == 256
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(w + i);
    __m256 back = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i eq = _mm256_cmpeq_epi32(_mm256_castps_si256(back), _mm256_castps_si256(v));
    if (_mm256_movemask_epi8(eq) != -1) return 0;
  }
#else
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(w + i);
    __m512 back = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (_mm512_cmpneq_epi32_mask(_mm512_castps_si512(back), _mm512_castps_si512(v)) != 0) {
      return 0;
    }
  }
#endif
  for (; i < n; i++) {
    float back = _cvtsh_ss(_cvtss_sh(w[i], _MM_FROUND_TO_NEAREST_INT));
    if (float_bits(back) != float_bits(w[i])) return 0;
  }
  return 1;
}

/* Whether every one of the n floats is a bfloat16 (its low 16 bits zero). */
static int all_bf16(const float *w, long n) {
  long i = 0;
#if HAVE_GEMM == 256
  for (; i + 8 <= n; i += 8) {
    __m256i v = _mm256_loadu_si256((const __m256i *) (w + i));
    if (!_mm256_testz_si256(v, _mm256_set1_epi32(0xFFFF))) return 0;
  }
#else
  for (; i + 16 <= n; i += 16) {
    __m512i v = _mm512_loadu_si512((const void *) (w + i));
    if (_mm512_test_epi32_mask(v, _mm512_set1_epi32(0xFFFF)) != 0) return 0;
  }
#endif
  for (; i < n; i++) {
    if ((float_bits(w[i]) & 0xFFFF) != 0) return 0;
  }
  return 1;
}

/* The layout a weight packs in when 16-bit layouts are allowed: bfloat16 (k even) or float16
 * where every value is one, else float32. */
static int half_layout(const float *w, int n, int k) {
  if (k % 2 == 0 && all_bf16(w, (long) n * k)) return PACKED_BF16;
  if (all_f16(w, (long) n * k)) return PACKED_F16;
  return PACKED_F32;
}
#endif

/* The vector width this build's packed GEMM was built for: 512 (AVX-512), 256 (AVX2, FMA,
 * F16C), or 0: none (elsewhere oneMKL's packed sgemm). */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmVectorBits(JNIEnv *env,
                                                                                 jclass c) {
#ifdef HAVE_GEMM
  return HAVE_GEMM;
#else
  return 0;
#endif
}

/* Bytes of the packed copy of an (n, k) weight in `layout` (gemmPackedLayout's numbers). */
JNIEXPORT jlong JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmPackedBytes(
    JNIEnv *env, jclass c, jint n, jint k, jint layout, jint split) {
#ifdef HAVE_GEMM
  return HEADER + (jlong) gemm_panels(n, split) * gemm_panel_bytes(layout, k);
#else
  return 0;
#endif
}

/* The layout w (n, k) would pack in with 16-bit layouts allowed: 0 float32, 1 bfloat16, 2
 * float16 (each exact). */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmLayoutFor(
    JNIEnv *env, jclass c, jobject w, jint n, jint k) {
#ifdef HAVE_GEMM
  const float *p = address(env, w);
  return p == NULL ? PACKED_F32 : half_layout(p, n, k);
#else
  return 0;
#endif
}

/* Packs w (n, k) row-major: where half (16-bit layouts allowed) is 1 or 2, as bfloat16 if every
 * value is one and k is even (2: for the tile units where they can be used, PACKED_AMX), else
 * as float16 if every value is one; else as float32. Returns the copy's address (0: no memory). */
JNIEXPORT jlong JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmPack(
    JNIEnv *env, jclass c, jobject w, jint n, jint k, jint half, jint split, jint gate,
    jint threads) {
#ifdef HAVE_GEMM
  struct gemm_job jb;
  memset(&jb, 0, sizeof jb);
  jb.w = address(env, w);
  jb.n = n;
  jb.k = k;
  jb.split = split;
  jb.panels = gemm_panels(n, split);
  if (jb.w == NULL || (split > 0 && n != 2 * split) || gate < GATE_SILU
      || gate > GATE_GELU_TANH) {
    return 0;
  }
  jb.layout = half ? half_layout(jb.w, n, k) : PACKED_F32;
  if (jb.layout == PACKED_BF16 && half == 2 && amx_usable()) jb.layout = PACKED_AMX;
  void *dest = NULL;
  size_t bytes = HEADER + (size_t) jb.panels * gemm_panel_bytes(jb.layout, k);
  if (posix_memalign(&dest, 64, bytes) != 0) {
    return 0;
  }
  struct packed_header h = {jb.layout, n, k, split, split > 0 ? gate : GATE_SILU};
  memset(dest, 0, bytes); /* bfloat16 panels are or'ed together half by half */
  memcpy(dest, &h, sizeof h);
  jb.packed = (const char *) dest + HEADER;
  if (gomp_parallel != NULL && threads > 1 && jb.panels > 1) {
    gomp_parallel(gemm_pack_worker, &jb, (unsigned) threads, 0);
  } else {
    gemm_pack_worker(&jb);
  }
  return (jlong) (intptr_t) dest;
#else
  return 0;
#endif
}

/* Rows ids[0..count) of the (n, k) weight packed at `packed`, widened to float32 into out
 * (count, k): a tied LM head's packed table serves the embedding lookup too, so the model holds
 * the table once. Returns -1, or the position of the first id outside [0, n) (nothing written
 * from it on). */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmRows(
    JNIEnv *env, jclass c, jlong packed, jobject ids, jint count, jobject out) {
#ifdef HAVE_GEMM
  const struct packed_header *h = (const struct packed_header *) (intptr_t) packed;
  const int64_t *id = (const int64_t *) (*env)->GetDirectBufferAddress(env, ids);
  float *y = address(env, out);
  const char *panels = (const char *) (intptr_t) packed + HEADER;
  int k = h->k;
  for (jint r = 0; r < count; r++) {
    if (id[r] < 0 || id[r] >= h->n) return r;
    int p = (int) (id[r] / NR), col = (int) (id[r] % NR);
    const char *panel = panels + p * gemm_panel_bytes(h->layout, k);
    float *row = y + (long) r * k;
    if (gemm_slotted(h->layout)) {
      for (int kk = 0; kk < k; kk++) {
        row[kk] = slot_load(h->layout, panel, panel_slot(h->layout, k, kk, col));
      }
      continue;
    }
    if (h->layout == PACKED_AMX) {
      const uint16_t *src = (const uint16_t *) panel + 2 * col;
      for (int kk = 0; kk < k; kk++) {
        uint32_t bits = (uint32_t) src[(long) (kk / 2) * 2 * NR + kk % 2] << 16;
        memcpy(row + kk, &bits, sizeof bits);
      }
      continue;
    }
    const uint32_t *src = (const uint32_t *) panel; /* the bfloat16 layout of gemm_pack_worker */
    int lane = col % 16;
    for (int kk = 0; kk < k; kk++) {
      int word = col < 32 ? kk % 2 : 2, half = col < 32 ? col / 16 : kk % 2;
      uint32_t v = (src[(long) (kk / 2) * 48 + word * 16 + lane] >> (16 * half)) & 0xFFFF;
      uint32_t bits = v << 16;
      memcpy(row + kk, &bits, sizeof bits);
    }
  }
  return -1;
#else
  return 0;
#endif
}

/* Whether bfloat16 weights pack for the AMX tile units here (gemmPack with half 2). */
JNIEXPORT jboolean JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_amxUsable(JNIEnv *env,
                                                                                jclass c) {
#ifdef HAVE_GEMM
  return amx_usable() ? JNI_TRUE : JNI_FALSE;
#else
  return JNI_FALSE;
#endif
}

/* Where this CPU has AMX bfloat16 tiles but Linux refused this process their state (asking it
 * first, once), why; else (granted, or no tiles) null. */
JNIEXPORT jstring JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_amxRefusal(JNIEnv *env,
                                                                                 jclass c) {
#if defined(__AVX512F__) && defined(HAVE_AMX)
  if (amx_usable()) return NULL;
  char why[200];
  snprintf(why, sizeof why, "Linux refused the tile state (arch_prctl(ARCH_REQ_XCOMP_PERM): %s)",
           amx_refusal == ENOSPC ? "a thread's alternate signal stack is too small for it"
           : amx_refusal == EINVAL || amx_refusal == ENOSYS ? "this kernel predates AMX, 5.16"
           : strerror(amx_refusal));
  return (*env)->NewStringUTF(env, why);
#else
  return NULL;
#endif
}

/* The layout of a packed copy: 0 float32, 1 bfloat16, 2 float16, 3 bfloat16 for the tiles. */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmPackedLayout(
    JNIEnv *env, jclass c, jlong packed) {
#ifdef HAVE_GEMM
  return ((const struct packed_header *) (intptr_t) packed)->layout;
#else
  return 0;
#endif
}

#ifdef HAVE_GEMM
/* An m-row GEMM's job (its tiles shared by a team of up to `threads`), ready for gemm_worker but
 * for PACKED_AMX's split of x (gemm_launch). */
static void gemm_setup(struct gemm_job *jb, const float *x, const char *packed, const float *bias,
                       const float *residual, float *y, int m, int n, int k, int threads,
                       const char *then) {
  const struct packed_header *h = (const struct packed_header *) packed;
  memset(jb, 0, sizeof *jb);
  jb->then = then;
  jb->x = x;
  jb->layout = h->layout;
  jb->split = h->split;
  jb->gate = h->gate;
  jb->packed = packed + HEADER;
  jb->bias = bias;
  jb->y = y;
  jb->m = m;
  jb->n = n;
  jb->k = k;
  jb->residual = residual;
  jb->mc = gemm_block_rows(m);
  jb->panels = gemm_panels(n, jb->split);
  long tiles = (long) ((m + jb->mc - 1) / jb->mc) * (jb->split > 0 ? jb->panels / 2 : jb->panels);
  /* a team when there is enough to share: arithmetic, or a weight to stream (one thread cannot
   * draw the memory bandwidth a decode row needs) */
  int enough = (double) m * n * k >= (1 << 20) || (double) n * k >= (1 << 17);
  int team = gomp_parallel != NULL && enough ? threads : 1;
  share_init(&jb->tiles, tiles, team > tiles ? (int) tiles : team);
}

/* Runs a set-up GEMM on its own team (after PACKED_AMX's split of x). 0, or −1 when scratch
 * memory ran out. */
static int gemm_launch(struct gemm_job *jb, int threads) {
#ifdef HAVE_AMX
  if (jb->layout == PACKED_AMX) { /* x's three planes, rows 32 values apart from a multiple of
                                   * 4 KiB so a tile's 16 rows do not share cache sets */
    int m = jb->m, k = jb->k;
    jb->xs_ld = amx_depth(k) + ((amx_depth(k) * 2) % 4096 == 0 ? 32 : 0);
    jb->xs_plane = (long) m * jb->xs_ld;
    uint16_t *xs = (uint16_t *) scratch_of(&split_key, (size_t) (3 * jb->xs_plane + 1) / 2);
    if (xs == NULL) return -1;
    /* a prefill's x on the team (a 512 × 2048 split is ~0.3 ms on one thread) */
    struct split_job sj = {jb->x, xs, m, k, 0, jb->xs_ld};
    if (gomp_parallel != NULL && threads > 1 && (long) m * k >= 1 << 16) {
      gomp_parallel(amx_split_worker, &sj, (unsigned) threads, 0);
    } else {
      amx_split_worker(&sj);
    }
    jb->xs = xs;
  }
#endif
  if (jb->tiles.team > 1) {
    gomp_parallel(gemm_worker, jb, (unsigned) jb->tiles.team, 0);
  } else {
    gemm_worker(jb);
  }
  return 0;
}

/* y (m, n) = x (m, k) · Wᵀ (+ bias (n) when not null) (+ residual (m, n) when not null), W (n, k)
 * packed at `packed` (header first); y may be the residual itself. A SwiGLU weight (its header's
 * split: n = 2·split, gate rows first) gives y (m, split) = silu(x·Gᵀ + bias_g) · (x·Uᵀ + bias_u)
 * instead (no residual); a GeGLU one (its header's gate) gelu_tanh(…) · (…). 0, or −1 when
 * scratch memory ran out (PACKED_AMX's split of x). */
static int gemm_run_then(const float *x, const char *packed, const float *bias,
                         const float *residual, float *y, int m, int n, int k, int threads,
                         const char *then) {
  struct gemm_job jb;
  gemm_setup(&jb, x, packed, bias, residual, y, m, n, k, threads, then);
  return gemm_launch(&jb, threads);
}

static int gemm_run(const float *x, const char *packed, const float *bias,
                    const float *residual, float *y, int m, int n, int k, int threads) {
  return gemm_run_then(x, packed, bias, residual, y, m, n, k, threads, NULL);
}
#endif

/* y (m, n) = x (m, k) · Wᵀ (+ bias (n) when given) (+ residual (m, n) when given); float32,
 * contiguous row-major; y may be the residual itself. */
JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemm(
    JNIEnv *env, jclass c, jobject x, jlong packed, jobject bias, jobject residual, jobject y,
    jint m, jint n, jint k, jint threads) {
#ifdef HAVE_GEMM
  if (gemm_run(address(env, x), (const char *) (intptr_t) packed, address(env, bias),
               address(env, residual), address(env, y), m, n, k, threads) != 0) {
    jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
    if (oom != NULL) (*env)->ThrowNew(env, oom, "no native memory for the GEMM's scratch");
  }
#endif
}

JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_gemmFree(JNIEnv *env,
                                                                            jclass c,
                                                                            jlong packed) {
  free((void *) (intptr_t) packed);
}

/* ---- A decoder's layer stack in one call ----
 *
 * A Llama-shaped step (pre-norm blocks: RMSNorm, the fused q|k|v projection, rotary with the
 * cache writes and attention, the output projection onto the residual, RMSNorm, the fused
 * gate|up projection, SiLU·up, the down projection onto the residual; then the final RMSNorm of
 * each sequence's last token) as one JNI call: the kernels the per-op path calls, in its order,
 * so the numbers are that path's bit for bit, without ~8 JNI calls, fresh libtorch tensors and
 * buffer views a layer. Activations live in two scratch buffers the calling thread keeps (no
 * fresh pages a step): A (rows of max(hidden, H·D, I)) holds the normed input, then the heads'
 * output, then the normed residual, then SiLU·up; B (rows of max(q|k|v, 2I, hidden)) the
 * projections (SiLU·up itself where gate|up is packed as a SwiGLU pair, gemm_glu_tile). Gemma 2's
 * extra norms (post_attn, post_mlp) take a branch's output (o's in B, down's in A or B) through
 * RMSNorm in place and then add it to the residual, as the layer-by-layer path's norm and add. */
struct stack_layer {
  const float *norm1, *norm2; /* RMSNorm gains (hidden), or null where folded into the weights */
  const float *norm1_b, *norm2_b; /* LayerNorm biases (GPT-2): the norms are LayerNorms, or null */
  int plain_mlp;                  /* 1: gu is GPT-2's c_fc (I rows), gelu_tanh in place, no gate */
  const float *post_attn, *post_mlp; /* Gemma 2's branch-output RMSNorm gains, or null: none */
  float eps_post_attn, eps_post_mlp;
  const char *qkv, *o, *gu, *down;                    /* packed weights, header first */
  const float *qkv_bias, *o_bias, *gu_bias, *down_bias; /* (n) or null */
  const float *q_norm, *k_norm;                        /* per-head gains (dim) or null (Qwen3) */
  float eps1, eps2, scale, softcap, qk_eps;
  int window;
};

struct stack {
  int layers, hidden, heads, kv_heads, dim, inter;
  const float *final_norm; /* or null */
  const float *final_norm_b; /* a LayerNorm's bias (GPT-2's ln_f), or null: RMSNorm */
  float final_eps;
  struct stack_layer layer[];
};

/* A stack over weights the caller keeps alive until stackFree: per layer, packed[4] = q|k|v, o,
 * gate|up (GPT-2: c_fc), down; vectors[10] = input norm, pre-MLP norm, the four biases, the
 * post-attention and post-MLP norms, the input and pre-MLP norms' LayerNorm biases (null where
 * absent), then the final norm and its LayerNorm bias; ints[2] = the window, and 1 for a plain
 * GELU MLP (GPT-2's) else 0; params[6] = the two eps, scale, softcap, the post norms' eps; then
 * the final eps; then, where qk (per layer: q norm, k norm, each (dim) or null) is not null,
 * qkEps. 0 without memory. */
JNIEXPORT jlong JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_stackNew(
    JNIEnv *env, jclass c, jint layers, jint hidden, jint heads, jint kv_heads, jint dim,
    jint inter, jlongArray packed, jobjectArray vectors, jintArray ints, jfloatArray params,
    jobjectArray qk, jfloat qk_eps) {
  struct stack *st = calloc(1, sizeof(struct stack) + (size_t) layers * sizeof(struct stack_layer));
  if (st == NULL) return 0;
  st->layers = layers;
  st->hidden = hidden;
  st->heads = heads;
  st->kv_heads = kv_heads;
  st->dim = dim;
  st->inter = inter;
  jlong *pk = (*env)->GetLongArrayElements(env, packed, NULL);
  jint *win = (*env)->GetIntArrayElements(env, ints, NULL);
  jfloat *par = (*env)->GetFloatArrayElements(env, params, NULL);
  const float *vec[10];
  for (int l = 0; l <= layers; l++) {
    for (int i = 0; i < (l < layers ? 10 : 2); i++) {
      jobject b = (*env)->GetObjectArrayElement(env, vectors, l * 10 + i);
      vec[i] = address(env, b);
      if (b != NULL) (*env)->DeleteLocalRef(env, b);
    }
    if (l == layers) {
      st->final_norm = vec[0];
      st->final_norm_b = vec[1];
      st->final_eps = par[l * 6];
      break;
    }
    struct stack_layer *L = &st->layer[l];
    L->qkv = (const char *) (intptr_t) pk[l * 4];
    L->o = (const char *) (intptr_t) pk[l * 4 + 1];
    L->gu = (const char *) (intptr_t) pk[l * 4 + 2];
    L->down = (const char *) (intptr_t) pk[l * 4 + 3];
    L->norm1 = vec[0];
    L->norm2 = vec[1];
    L->qkv_bias = vec[2];
    L->o_bias = vec[3];
    L->gu_bias = vec[4];
    L->down_bias = vec[5];
    L->post_attn = vec[6];
    L->post_mlp = vec[7];
    L->norm1_b = vec[8];
    L->norm2_b = vec[9];
    L->window = win[2 * l];
    L->plain_mlp = win[2 * l + 1];
    L->eps1 = par[l * 6];
    L->eps2 = par[l * 6 + 1];
    L->scale = par[l * 6 + 2];
    L->softcap = par[l * 6 + 3];
    L->eps_post_attn = par[l * 6 + 4];
    L->eps_post_mlp = par[l * 6 + 5];
    if (qk != NULL) {
      jobject qn = (*env)->GetObjectArrayElement(env, qk, 2 * l);
      jobject kn = (*env)->GetObjectArrayElement(env, qk, 2 * l + 1);
      L->q_norm = address(env, qn);
      L->k_norm = address(env, kn);
      if (qn != NULL) (*env)->DeleteLocalRef(env, qn);
      if (kn != NULL) (*env)->DeleteLocalRef(env, kn);
      L->qk_eps = qk_eps;
    }
  }
  (*env)->ReleaseLongArrayElements(env, packed, pk, JNI_ABORT);
  (*env)->ReleaseIntArrayElements(env, ints, win, JNI_ABORT);
  (*env)->ReleaseFloatArrayElements(env, params, par, JNI_ABORT);
  return (jlong) (intptr_t) st;
}

JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_stackFree(JNIEnv *env,
                                                                             jclass c,
                                                                             jlong stack) {
  free((void *) (intptr_t) stack);
}

/* A row function over `rows` rows of n, with a bias b (LayerNorm's) or none. */
static void rows_with(void (*row)(const struct rows_job *, long), const float *x, const float *w,
                      const float *b, float *out, int rows, int n, float eps, int threads) {
  struct rows_job jb = rows_job_of(x, w, b, out, rows, n, eps);
  run_rows(row, &jb, threads);
}

/* RMSNorm (bias null) or LayerNorm (GPT-2's: gain w and bias) of `rows` rows of n: x → out. */
static void norm_rows(const float *x, const float *w, const float *bias, float *out, int rows,
                      int n, float eps, int threads) {
  rows_with(bias == NULL ? rms_norm_row : add_layer_norm_row, x, w, bias, out, rows, n, eps,
            threads);
}

#ifdef HAVE_GEMM
/* ---- A step's phases ----
 *
 * A step of the stack is a list of phases (a GEMM, attention, a row function over the tokens),
 * each set up before the first runs, then run in order on one team: one OpenMP region for the
 * whole step, the threads meeting at a spin barrier between phases. A region per phase cost
 * ~4 µs to start and end (an empty GOMP_parallel of two threads on the VM we measure on), 60 of
 * them a decode step, and a 32-row RMSNorm was too small to be worth one, so the second thread
 * waited through 24 of them a step (docs/benchmarks.md, session 21). Where a phase cannot be set
 * up ahead (PACKED_AMX's split of x reads the phase before's output) or there is no team, the
 * phases run one by one, each on its own region as before. */
enum { PHASE_GEMM, PHASE_ATTEND, PHASE_ROWS };
struct phase {
  int kind;
  int all;   /* PHASE_ROWS on the step's team: shared by it (else the first thread's) */
  int spawn; /* PHASE_ROWS run on its own: on a team of its own (else the calling thread's) */
  union {
    struct gemm_job g;
    struct job a;
    struct rows_job r;
  } u;
};

struct phases {
  struct phase *p;
  int count, failed;
  int arrived __attribute__((aligned(64))); /* the barrier: threads arrived at it */
  int generation __attribute__((aligned(64))); /* barriers passed */
};

/* The most phases a layer adds: norm, q|k|v, attention, o, norm, gate|up, the gating where
 * gate|up is not a SwiGLU pair (or GPT-2's GELU), down, and Gemma 2's norm and residual sum
 * after o and after down. */
enum { LAYER_PHASES = 12 };

/* Waits for the team's other threads (team of them in all) at the phase list's barrier; what
 * each wrote before it is visible to all after it. Spins for about as long as a phase's threads
 * usually end apart (tens of µs), then yields between looks, so that a thread preempted on a
 * shared host, or one more than the cores, gets its core back. */
static void phases_barrier(struct phases *ps, int team) {
  int gen = __atomic_load_n(&ps->generation, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&ps->arrived, 1, __ATOMIC_ACQ_REL) == team) {
    __atomic_store_n(&ps->arrived, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ps->generation, gen + 1, __ATOMIC_RELEASE);
    return;
  }
  for (unsigned spins = 0; __atomic_load_n(&ps->generation, __ATOMIC_ACQUIRE) == gen; spins++) {
    if (spins < (1u << 12)) {
      _mm_pause();
    } else {
      sched_yield();
    }
  }
}

/* The calling thread's part (thread me of the team) of a phase. */
static void phase_work(struct phase *ph, int me) {
  switch (ph->kind) {
    case PHASE_GEMM:
      if (me < ph->u.g.tiles.team) gemm_worker(&ph->u.g);
      break;
    case PHASE_ATTEND:
      if (me < ph->u.a.share.team) worker(&ph->u.a);
      break;
    default:
      if (ph->all || me == 0) rows_worker(&ph->u.r);
  }
}

static void phases_worker(void *arg) {
  struct phases *ps = (struct phases *) arg;
  int me = gomp_thread_num(), team = gomp_num_threads();
  for (int i = 0; i < ps->count; i++) {
    phase_work(&ps->p[i], me);
    phases_barrier(ps, team);
    if (ps->p[i].kind == PHASE_ATTEND && ps->p[i].u.a.failed) { /* out of scratch: all stop */
      __atomic_store_n(&ps->failed, 1, __ATOMIC_RELAXED);
      return;
    }
  }
}

static void phase_gemm(struct phases *ps, const float *x, const char *packed, const float *bias,
                       const float *residual, float *y, int m, int n, int k, int threads,
                       const char *then) {
  struct phase *ph = &ps->p[ps->count++];
  ph->kind = PHASE_GEMM;
  gemm_setup(&ph->u.g, x, packed, bias, residual, y, m, n, k, threads, then);
}

static void phase_rows(struct phases *ps, void (*row)(const struct rows_job *, long),
                       const float *x, const float *w, const float *b, float *out, int rows,
                       int n, float eps, int threads) {
  struct phase *ph = &ps->p[ps->count++];
  ph->kind = PHASE_ROWS;
  struct rows_job *jb = &ph->u.r;
  *jb = rows_job_of(x, w, b, out, rows, n, eps);
  ph->spawn = ph->all = rows_setup(row, jb, threads);
  if (threads > 1 && (row == rms_norm_row || row == add_layer_norm_row) && rows >= threads) {
    /* a norm on the team however few its rows (no region to start for it here), two blocks a
     * thread, so each thread has a next row (an RMSNorm's is fetched while it works on one) */
    ph->all = 1;
    jb->block = (rows + 2 * threads - 1) / (2 * threads);
  }
}

/* Runs the phases in order: on one team where every phase was set up ahead and there is a
 * team, else each on its own. 0, or −1 when scratch memory ran out. */
static int phases_run(struct phases *ps, int threads) {
  int ahead = gomp_parallel != NULL && gomp_thread_num != NULL && gomp_num_threads != NULL
              && threads > 1;
  for (int i = 0; i < ps->count && ahead; i++) {
    ahead = ps->p[i].kind != PHASE_GEMM || ps->p[i].u.g.layout != PACKED_AMX;
  }
  if (ahead) {
    ps->failed = 0;
    ps->arrived = 0;
    ps->generation = 0;
    gomp_parallel(phases_worker, ps, (unsigned) threads, 0);
    return ps->failed ? -1 : 0;
  }
  for (int i = 0; i < ps->count; i++) {
    struct phase *ph = &ps->p[i];
    int rc = 0;
    switch (ph->kind) {
      case PHASE_GEMM:
        rc = gemm_launch(&ph->u.g, threads);
        break;
      case PHASE_ATTEND:
        rc = attend_launch(&ph->u.a);
        break;
      default:
        rows_launch(&ph->u.r, ph->spawn, threads);
    }
    if (rc != 0) return -1;
  }
  return 0;
}

/* One step of the stack over xs (tokens, hidden), updated in place (each layer's output): the
 * job holds the sequences as attend takes them (every token belongs to one) and the rotary
 * tables; k[l], v[l] are layer l's key and value caches. out (sequences, hidden) gets the final
 * norm of each sequence's last token. 0, or −1 when scratch memory ran out. */
static int stack_run(const struct stack *st, float *xs, int n, struct job *jb, float *const *k,
                     float *const *v, float *out, int threads) {
  int h = st->hidden, hd = st->heads * st->dim, in = st->inter;
  int qkvw = (st->heads + 2 * st->kv_heads) * st->dim;
  long wa = h > hd ? h : hd;
  wa = wa > in ? wa : in;
  long wb = qkvw > 2 * in ? qkvw : 2 * in;
  wb = wb > h ? wb : h;
  float *a = scratch_of(&stack_key, (size_t) n * (wa + wb));
  if (a == NULL) return -1;
  float *b = a + (size_t) n * wa;
  struct phases ps;
  memset(&ps, 0, sizeof ps);
  ps.p = (struct phase *) scratch_of(&phases_key, (sizeof(struct phase) * LAYER_PHASES
                                                   * (size_t) st->layers + 3) / sizeof(float));
  if (ps.p == NULL) return -1;
  jb->q = b;
  jb->fresh = 1;
  jb->out = a;
  jb->q_stride = qkvw;
  jb->out_stride = hd;
  jb->kv_row = st->dim;
  jb->heads = st->heads;
  jb->kv_heads = st->kv_heads;
  jb->dim = st->dim;
  jb->causal = 1;
  for (int l = 0; l < st->layers; l++) {
    const struct stack_layer *L = &st->layer[l];
    /* each phase's threads, once done, fetch the start of their share of the next weight */
    const char *next_qkv = l + 1 < st->layers ? st->layer[l + 1].qkv : NULL;
    phase_rows(&ps, L->norm1_b == NULL ? rms_norm_row : add_layer_norm_row, xs, L->norm1,
               L->norm1_b, a, n, h, L->eps1, threads);
    phase_gemm(&ps, a, L->qkv, L->qkv_bias, NULL, b, n, qkvw, h, threads, NULL);
    struct phase *att = &ps.p[ps.count++]; /* b's q|k|v → the heads' output in a */
    att->kind = PHASE_ATTEND;
    att->u.a = *jb;
    att->u.a.k = k[l];
    att->u.a.v = v[l];
    att->u.a.window = L->window;
    att->u.a.scale = L->scale;
    att->u.a.softcap = L->softcap;
    att->u.a.q_norm = L->q_norm;
    att->u.a.k_norm = L->k_norm;
    att->u.a.qk_eps = L->qk_eps;
    att->u.a.then = L->o;
    att->u.a.then_rows = n;
    attend_setup(&att->u.a, threads);
    if (L->post_attn == NULL) {
      phase_gemm(&ps, a, L->o, L->o_bias, xs, xs, n, h, hd, threads, L->gu);
    } else { /* Gemma 2: x + norm(o(heads)) */
      phase_gemm(&ps, a, L->o, L->o_bias, NULL, b, n, h, hd, threads, L->gu);
      phase_rows(&ps, rms_norm_row, b, L->post_attn, NULL, b, n, h, L->eps_post_attn, threads);
      phase_rows(&ps, add_row, b, NULL, NULL, xs, n, h, 0, threads);
    }
    phase_rows(&ps, L->norm2_b == NULL ? rms_norm_row : add_layer_norm_row, xs, L->norm2,
               L->norm2_b, a, n, h, L->eps2, threads);
    phase_gemm(&ps, a, L->gu, L->gu_bias, NULL, b, n, (L->plain_mlp ? 1 : 2) * in, h, threads,
               L->down);
    const float *gated = b; /* gate·up: straight into b where gate|up is a pair */
    float *down = a;        /* down's output where a norm comes before the residual */
    if (L->plain_mlp) {     /* GPT-2: gelu_tanh(c_fc) in place */
      phase_rows(&ps, gelu_tanh_row, NULL, NULL, NULL, b, n, in, 0, threads);
    } else if (((const struct packed_header *) L->gu)->split == 0) {
      phase_rows(&ps, silu_mul_row, b, NULL, NULL, a, n, in, 0, threads);
      gated = a;
      down = b;
    }
    if (L->post_mlp == NULL) {
      phase_gemm(&ps, gated, L->down, L->down_bias, xs, xs, n, h, in, threads, next_qkv);
    } else { /* Gemma 2: h + norm(down(gate·up)) */
      phase_gemm(&ps, gated, L->down, L->down_bias, NULL, down, n, h, in, threads, next_qkv);
      phase_rows(&ps, rms_norm_row, down, L->post_mlp, NULL, down, n, h, L->eps_post_mlp,
                 threads);
      phase_rows(&ps, add_row, down, NULL, NULL, xs, n, h, 0, threads);
    }
  }
  if (phases_run(&ps, threads) != 0) return -1;
  /* each sequence's last token, gathered into a, then normed into out */
  for (int i = 0; i < jb->seqs; i++) {
    memcpy(a + (size_t) i * h, xs + (size_t) (jb->first[i] + jb->count[i] - 1) * h,
           (size_t) h * sizeof(float));
  }
  norm_rows(a, st->final_norm, st->final_norm_b, out, jb->seqs, h, st->final_eps, threads);
  return 0;
}
#endif

/* One step of the stack (stack_run) over x (tokens, hidden): the sequences as CpuKernels.attend
 * takes them, kv[2l], kv[2l + 1] layer l's key and value caches (rows of D, KV head h of a
 * sequence kv_head floats after head h − 1), cos/sin rows of rot per token (null: no rotary). 0,
 * or −1 when scratch memory ran out. */
JNIEXPORT jint JNICALL Java_dev_llmbatch_engine_runtime_CpuKernels_stackStep(
    JNIEnv *env, jclass c, jlong stack, jobject x, jint tokens, jobject cos, jobject sin,
    jint rot, jobjectArray kv, jlong kv_head, jintArray first, jintArray count, jintArray pos0,
    jlongArray kv_base, jobject out, jint threads) {
#ifdef HAVE_GEMM
  const struct stack *st = (const struct stack *) (intptr_t) stack;
  float *k[st->layers], *v[st->layers];
  for (int i = 0; i < 2 * st->layers; i++) { /* keys, values, keys, ... */
    jobject buffer = (*env)->GetObjectArrayElement(env, kv, i);
    (i % 2 == 0 ? k : v)[i / 2] = address(env, buffer);
    (*env)->DeleteLocalRef(env, buffer);
  }
  struct job jb;
  memset(&jb, 0, sizeof jb);
  jb.cos = address(env, cos);
  jb.sin = address(env, sin);
  jb.rot = rot;
  jb.kv_head = kv_head;
  sequences_get(env, &jb, first, count, pos0, kv_base);
  int rc = stack_run(st, address(env, x), tokens, &jb, k, v, address(env, out), threads);
  sequences_release(env, &jb, first, count, pos0, kv_base);
  return rc;
#else
  return -2;
#endif
}
