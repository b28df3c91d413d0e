/*
 * JNI side of dev.llmbatch.engine.runtime.PackedGemm: oneMKL's packed sgemm, found in the libtorch
 * the JVM has already loaded (its cblas_sgemm_pack* symbols are exported), for y = x·Wᵀ + b with W
 * packed once at load. libtorch's own linear calls sgemm, which re-packs W on every call: for the
 * few rows of a decode step that packing costs as much as the product itself.
 *
 * Compiled on first use by PackedGemm (gcc, the JDK's jni.h) into the llm-batch native cache.
 */
#include <jni.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef size_t (*pack_size_fn)(int identifier, int m, int n, int k);
typedef void (*pack_fn)(int layout, int identifier, int trans, int m, int n, int k, float alpha,
                        const float *src, int ld, float *dest);
typedef void (*compute_fn)(int layout, int transa, int transb, int m, int n, int k, const float *a,
                           int lda, const float *b, int ldb, float beta, float *c, int ldc);

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, PACKED = 151, B_MATRIX = 162 };
enum { PACK_ROWS = 16 }; /* the m given to pack; the packed B serves any m (checked by tests) */

static pack_size_fn pack_size;
static pack_fn pack;
static compute_fn compute;

/* Binds the three functions from the already loaded library at `path`; null, or why not. */
JNIEXPORT jstring JNICALL Java_dev_llmbatch_engine_runtime_PackedGemm_bind(JNIEnv *env, jclass c,
                                                                          jstring path) {
  const char *p = (*env)->GetStringUTFChars(env, path, NULL);
  void *h = dlopen(p, RTLD_NOW | RTLD_NOLOAD);
  (*env)->ReleaseStringUTFChars(env, path, p);
  if (h == NULL) {
    return (*env)->NewStringUTF(env, "libtorch_cpu is not loaded in this process");
  }
  pack_size = (pack_size_fn) dlsym(h, "cblas_sgemm_pack_get_size");
  pack = (pack_fn) dlsym(h, "cblas_sgemm_pack");
  compute = (compute_fn) dlsym(h, "cblas_sgemm_compute");
  if (pack_size == NULL || pack == NULL || compute == NULL) {
    return (*env)->NewStringUTF(env, "this libtorch exports no oneMKL cblas_sgemm_pack/compute");
  }
  return NULL;
}

/* Packs w (n, k) row-major as op(B) = wᵀ of x·wᵀ; returns the buffer's address (0: no memory). */
JNIEXPORT jlong JNICALL Java_dev_llmbatch_engine_runtime_PackedGemm_pack(JNIEnv *env, jclass c,
                                                                         jobject w, jint n, jint k) {
  const float *src = (const float *) (*env)->GetDirectBufferAddress(env, w);
  size_t size = pack_size(B_MATRIX, PACK_ROWS, n, k);
  void *dest = NULL;
  if (src == NULL || posix_memalign(&dest, 64, size) != 0) {
    return 0;
  }
  pack(ROW_MAJOR, B_MATRIX, TRANS, PACK_ROWS, n, k, 1.0f, src, k, (float *) dest);
  return (jlong) (intptr_t) dest;
}

/* Bytes oneMKL reserves for a packed (n, k) matrix. */
JNIEXPORT jlong JNICALL Java_dev_llmbatch_engine_runtime_PackedGemm_packedBytes(JNIEnv *env,
                                                                                jclass c, jint n,
                                                                                jint k) {
  return (jlong) pack_size(B_MATRIX, PACK_ROWS, n, k);
}

/* y (m, n) = x (m, k) · Wᵀ (+ bias (n) when given) (+ residual (m, n) when given), as libtorch's
 * addmm: y starts as bias + residual and the product is accumulated onto it; all float32,
 * contiguous row-major. */
JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_PackedGemm_compute(JNIEnv *env, jclass c,
                                                                           jobject x, jlong packed,
                                                                           jobject bias,
                                                                           jobject residual,
                                                                           jobject y, jint m,
                                                                           jint n, jint k) {
  const float *a = (const float *) (*env)->GetDirectBufferAddress(env, x);
  float *out = (float *) (*env)->GetDirectBufferAddress(env, y);
  const float *b = bias == NULL ? NULL : (const float *) (*env)->GetDirectBufferAddress(env, bias);
  const float *r =
      residual == NULL ? NULL : (const float *) (*env)->GetDirectBufferAddress(env, residual);
  float beta = 0.0f;
  if (b != NULL || r != NULL) {
    for (jint i = 0; i < m; i++) {
      float *row = out + (size_t) i * n;
      if (r != NULL && r + (size_t) i * n != row) {
        memcpy(row, r + (size_t) i * n, (size_t) n * sizeof(float));
      }
      if (b != NULL && r != NULL) {
        for (jint j = 0; j < n; j++) row[j] += b[j];
      } else if (b != NULL) {
        memcpy(row, b, (size_t) n * sizeof(float));
      }
    }
    beta = 1.0f;
  }
  compute(ROW_MAJOR, NO_TRANS, PACKED, m, n, k, a, k, (const float *) (intptr_t) packed, k, beta,
          out, n);
}

JNIEXPORT void JNICALL Java_dev_llmbatch_engine_runtime_PackedGemm_free(JNIEnv *env, jclass c,
                                                                        jlong packed) {
  free((void *) (intptr_t) packed);
}
