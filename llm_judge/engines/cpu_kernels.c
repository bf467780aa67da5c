/* bfloat16 kernels for the transformers engine's decode loop on a CPU (hf_decode.py), built and loaded at
 * run time by kernels.py. A decode step works on a few rows at a time, where torch spends more on
 * dispatching each small operation, and on reading the cache, than on arithmetic.
 *
 * attend_bf16: attention of one new token per row over its cached keys and values. torch's
 * scaled_dot_product_attention for one query position read the cache at about 9 GB/s here, against
 * 22 GB/s the memory gives (benchmarks/decode_bound.py). This reads each cached position once for all
 * the query heads that share its key/value head, fetches ahead, converts bfloat16 to float32 as it goes,
 * and keeps a running softmax (max, sum, weighted values) in float32, one block of positions at a time.
 * Layout: q is (rows, heads, dim) with strides (q_row, q_head, 1); keys and values are
 * (rows, kv_heads, capacity, dim) with strides (kv_row, kv_head, dim, 1); the step's new_keys and
 * new_values, (rows, kv_heads, dim) with strides (new_key_row or new_value_row, new_head, 1), are written
 * at position end - 1,
 * then row r attends to positions [start[r], end). out is (rows, heads, dim), contiguous. Heads h * group .. h * group + group - 1 share
 * key/value head h.
 *
 * argmax_bf16: the greedy pick, over the logits as the model computed them.
 *
 * rms_norm_bf16 and silu_mul_bf16: a transformers Llama RMSNorm and MLP activation in one pass each,
 * rounding where transformers rounds (to bfloat16 after the normalisation, again after the weight; after
 * the SiLU, again after the product), where torch takes eight and two operations. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 64
#define AHEAD 16 /* positions of keys fetched ahead of use */
#define MAX_GROUP 16
#define MAX_DIM 256

static inline float from_bf16(uint16_t x) {
    union { uint32_t u; float f; } c;
    c.u = (uint32_t)x << 16;
    return c.f;
}

static inline uint16_t to_bf16(float f) { /* round to nearest even, as torch converts */
    union { uint32_t u; float f; } c;
    c.f = f;
    if (isnan(f)) return 0x7FC0;
    c.u += 0x7FFF + ((c.u >> 16) & 1);
    return (uint16_t)(c.u >> 16);
}

/* exp(x) in float32 to about 2 ulp (x clamped to [-87, 88]): 2^n * 2^f with a degree-6 polynomial for 2^f, f in
 * [-0.5, 0.5]; written without calls or branches so the compiler vectorizes the loops that use it. */
static inline float exp_neg(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float t = x * 1.44269504088896341f;
    float n = nearbyintf(t);
    float f = t - n;
    float p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    union { uint32_t u; float f; } c;
    c.u = (uint32_t)((int32_t)n + 127) << 23;
    return p * c.f;
}

typedef void (*fixed_fn)(const uint16_t *, int64_t, const uint16_t *, const uint16_t *, int64_t, int64_t, float,
                         uint16_t *);
#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512 load16(const uint16_t *p) { /* 16 bfloat16 values as float32 */
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
#endif

static inline float dot(const float *restrict q, const uint16_t *restrict k, int64_t dim) {
#ifdef __AVX512F__
    if (dim % 16 == 0) {
        __m512 s = _mm512_setzero_ps();
        for (int64_t d = 0; d < dim; d += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), load16(k + d), s);
        return _mm512_reduce_add_ps(s);
    }
#endif
    float s = 0.0f;
    for (int64_t d = 0; d < dim; d++) s += q[d] * from_bf16(k[d]);
    return s;
}

static inline void add_scaled(float *restrict acc, float w, const uint16_t *restrict v, int64_t dim) {
#ifdef __AVX512F__
    if (dim % 16 == 0) {
        __m512 ww = _mm512_set1_ps(w);
        for (int64_t d = 0; d < dim; d += 16)
            _mm512_storeu_ps(acc + d, _mm512_fmadd_ps(ww, load16(v + d), _mm512_loadu_ps(acc + d)));
        return;
    }
#endif
    for (int64_t d = 0; d < dim; d++) acc[d] += w * from_bf16(v[d]);
}

#ifdef __AVX512F__
/* attend_one for G query heads per key/value head and a head size of 16 * NV: the query and the running
 * weighted sum of values stay in registers for the whole row. */
#define DEFINE_FIXED(G, NV)                                                                                 \
static void attend_g##G##_v##NV(const uint16_t *q, int64_t q_head, const uint16_t *kr, const uint16_t *vr,  \
                                 int64_t first, int64_t end, float scale, uint16_t *out) {                   \
    __m512 qv[G][NV], acc[G][NV];                                                                          \
    float score[G][BLOCK], top[G], total[G];                                                               \
    for (int j = 0; j < G; j++) {                                                                          \
        for (int c = 0; c < NV; c++) {                                                                     \
            qv[j][c] = _mm512_mul_ps(load16(q + j * q_head + 16 * c), _mm512_set1_ps(scale));              \
            acc[j][c] = _mm512_setzero_ps();                                                               \
        }                                                                                                  \
        top[j] = -INFINITY;                                                                                \
        total[j] = 0.0f;                                                                                   \
    }                                                                                                      \
    for (int64_t p0 = first; p0 < end; p0 += BLOCK) {                                                      \
        int n = end - p0 < BLOCK ? (int)(end - p0) : BLOCK;                                                \
        for (int i = 0; i < n; i++) {                                                                      \
            const uint16_t *kp = kr + (p0 + i) * (16 * NV);                                                \
            const uint16_t *vp = vr + (p0 + i) * (16 * NV);                                                \
            for (int c = 0; c < NV; c += 4) { /* 128 bytes: two cache lines per 64 values */               \
                _mm_prefetch((const char *)(kp + AHEAD * 16 * NV + 16 * c), _MM_HINT_T0);                  \
                _mm_prefetch((const char *)(kp + AHEAD * 16 * NV + 16 * c + 32), _MM_HINT_T0);             \
                _mm_prefetch((const char *)(vp + 16 * c), _MM_HINT_T0);                                    \
                _mm_prefetch((const char *)(vp + 16 * c + 32), _MM_HINT_T0);                               \
            }                                                                                              \
            __m512 kv[NV];                                                                                 \
            for (int c = 0; c < NV; c++) kv[c] = load16(kp + 16 * c);                                     \
            for (int j = 0; j < G; j++) {                                                                  \
                __m512 s = _mm512_mul_ps(qv[j][0], kv[0]);                                                 \
                for (int c = 1; c < NV; c++) s = _mm512_fmadd_ps(qv[j][c], kv[c], s);                      \
                score[j][i] = _mm512_reduce_add_ps(s);                                                     \
            }                                                                                              \
        }                                                                                                  \
        for (int j = 0; j < G; j++) {                                                                      \
            float m = top[j];                                                                              \
            _Pragma("omp simd reduction(max:m)")                                                           \
            for (int i = 0; i < n; i++) m = score[j][i] > m ? score[j][i] : m;                             \
            float keep = exp_neg(top[j] - m);                                                              \
            top[j] = m;                                                                                    \
            float sum = 0.0f;                                                                              \
            _Pragma("omp simd reduction(+:sum)")                                                           \
            for (int i = 0; i < n; i++) {                                                                  \
                score[j][i] = exp_neg(score[j][i] - m);                                                    \
                sum += score[j][i];                                                                        \
            }                                                                                              \
            total[j] = total[j] * keep + sum;                                                              \
            for (int c = 0; c < NV; c++) acc[j][c] = _mm512_mul_ps(acc[j][c], _mm512_set1_ps(keep));       \
        }                                                                                                  \
        for (int i = 0; i < n; i++) {                                                                      \
            const uint16_t *vp = vr + (p0 + i) * (16 * NV);                                                \
            __m512 vv[NV];                                                                                 \
            for (int c = 0; c < NV; c++) vv[c] = load16(vp + 16 * c);                                     \
            for (int j = 0; j < G; j++) {                                                                  \
                __m512 w = _mm512_set1_ps(score[j][i]);                                                    \
                for (int c = 0; c < NV; c++) acc[j][c] = _mm512_fmadd_ps(w, vv[c], acc[j][c]);             \
            }                                                                                              \
        }                                                                                                  \
    }                                                                                                      \
    for (int j = 0; j < G; j++) {                                                                          \
        float inv = total[j] > 0.0f ? 1.0f / total[j] : 0.0f;                                              \
        float tmp[16 * NV];                                                                                \
        for (int c = 0; c < NV; c++) _mm512_storeu_ps(tmp + 16 * c, _mm512_mul_ps(acc[j][c], _mm512_set1_ps(inv))); \
        for (int d = 0; d < 16 * NV; d++) out[j * 16 * NV + d] = to_bf16(tmp[d]);                        \
    }                                                                                                      \
}

DEFINE_FIXED(1, 4) DEFINE_FIXED(2, 4) DEFINE_FIXED(3, 4) DEFINE_FIXED(4, 4)
DEFINE_FIXED(5, 4) DEFINE_FIXED(6, 4) DEFINE_FIXED(7, 4) DEFINE_FIXED(8, 4)
DEFINE_FIXED(1, 8) DEFINE_FIXED(2, 8) DEFINE_FIXED(3, 8) DEFINE_FIXED(4, 8)
DEFINE_FIXED(5, 8) DEFINE_FIXED(6, 8) DEFINE_FIXED(7, 8) DEFINE_FIXED(8, 8)

static const fixed_fn FIXED[2][8] = {
    {attend_g1_v4, attend_g2_v4, attend_g3_v4, attend_g4_v4, attend_g5_v4, attend_g6_v4, attend_g7_v4, attend_g8_v4},
    {attend_g1_v8, attend_g2_v8, attend_g3_v8, attend_g4_v8, attend_g5_v8, attend_g6_v8, attend_g7_v8, attend_g8_v8},
};
#endif

/* One row's one key/value head: the `group` query heads that share it. */
static __attribute__((noinline)) void attend_one(const uint16_t *q, int64_t q_head, const uint16_t *kr,
                                                 const uint16_t *vr, int64_t first, int64_t end, int64_t group,
                                                 int64_t dim, float scale, uint16_t *out) {
    float qf[MAX_GROUP][MAX_DIM], acc[MAX_GROUP][MAX_DIM], score[MAX_GROUP][BLOCK];
    float top[MAX_GROUP], total[MAX_GROUP];
    for (int64_t j = 0; j < group; j++) {
        for (int64_t d = 0; d < dim; d++) qf[j][d] = from_bf16(q[j * q_head + d]) * scale;
        memset(acc[j], 0, sizeof(float) * dim);
        top[j] = -INFINITY;
        total[j] = 0.0f;
    }
    for (int64_t p0 = first; p0 < end; p0 += BLOCK) {
        int64_t n = end - p0 < BLOCK ? end - p0 : BLOCK;
        for (int64_t i = 0; i < n; i++) {
            const uint16_t *kp = kr + (p0 + i) * dim;
            for (int64_t j = 0; j < group; j++) score[j][i] = dot(qf[j], kp, dim);
        }
        for (int64_t j = 0; j < group; j++) {
            float m = top[j];
            const float *restrict sj = score[j];
            #pragma omp simd reduction(max:m)
            for (int64_t i = 0; i < n; i++) m = sj[i] > m ? sj[i] : m;
            float keep = exp_neg(top[j] - m); /* 0 at the first block: top is -inf */
            top[j] = m;
            total[j] *= keep;
            for (int64_t d = 0; d < dim; d++) acc[j][d] *= keep;
            float sum = 0.0f;
            #pragma omp simd reduction(+:sum)
            for (int64_t i = 0; i < n; i++) {
                score[j][i] = exp_neg(score[j][i] - m);
                sum += score[j][i];
            }
            total[j] += sum;
        }
        for (int64_t i = 0; i < n; i++) {
            const uint16_t *vp = vr + (p0 + i) * dim;
            for (int64_t j = 0; j < group; j++) add_scaled(acc[j], score[j][i], vp, dim);
        }
    }
    for (int64_t j = 0; j < group; j++) {
        float inv = total[j] > 0.0f ? 1.0f / total[j] : 0.0f;
        for (int64_t d = 0; d < dim; d++) out[j * dim + d] = to_bf16(acc[j][d] * inv);
    }
}

int attend_bf16(const uint16_t *q, int64_t q_row, int64_t q_head, const uint16_t *new_keys, int64_t new_key_row,
                const uint16_t *new_values, int64_t new_value_row, int64_t new_head, uint16_t *keys, uint16_t *values,
                int64_t kv_row, int64_t kv_head, const int32_t *start, int64_t end, int64_t rows, int64_t heads,
                int64_t kv_heads, int64_t dim, float scale, uint16_t *out) {
    int64_t group = heads / kv_heads;
    if (group * kv_heads != heads || group > MAX_GROUP || dim > MAX_DIM) return 1;
    fixed_fn fixed = 0;
#ifdef __AVX512F__
    if ((dim == 64 || dim == 128) && group <= 8) fixed = FIXED[dim == 128][group - 1];
#endif
    #pragma omp parallel for schedule(static)
    for (int64_t item = 0; item < rows * kv_heads; item++) {
        int64_t r = item / kv_heads, h = item % kv_heads;
        /* this step's key and value go to position end - 1 first, so the row attends to them too */
        memcpy(keys + r * kv_row + h * kv_head + (end - 1) * dim, new_keys + r * new_key_row + h * new_head,
               sizeof(uint16_t) * dim);
        memcpy(values + r * kv_row + h * kv_head + (end - 1) * dim, new_values + r * new_value_row + h * new_head,
               sizeof(uint16_t) * dim);
        if (fixed) {
            fixed(q + r * q_row + h * group * q_head, q_head, keys + r * kv_row + h * kv_head,
                  values + r * kv_row + h * kv_head, start[r], end, scale, out + (r * heads + h * group) * dim);
            continue;
        }
        attend_one(q + r * q_row + h * group * q_head, q_head, keys + r * kv_row + h * kv_head,
                   values + r * kv_row + h * kv_head, start[r], end, group, dim, scale,
                   out + (r * heads + h * group) * dim);
    }
    return 0;
}

void rms_norm_bf16(const uint16_t *x, const uint16_t *weight, int64_t rows, int64_t dim, float eps, uint16_t *out) {
    #pragma omp parallel for schedule(static) if (rows * dim > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const uint16_t *xr = x + r * dim;
        uint16_t *o = out + r * dim;
        float sum = 0.0f;
        #pragma omp simd reduction(+:sum)
        for (int64_t d = 0; d < dim; d++) sum += from_bf16(xr[d]) * from_bf16(xr[d]);
        float scale = 1.0f / sqrtf(sum / (float)dim + eps);
        #pragma omp simd
        for (int64_t d = 0; d < dim; d++) {
            float normed = from_bf16(to_bf16(from_bf16(xr[d]) * scale));
            o[d] = to_bf16(normed * from_bf16(weight[d]));
        }
    }
}

/* gate_up is (rows, 2 * width): the gate's width values, then the up projection's. */
void silu_mul_bf16(const uint16_t *gate_up, int64_t rows, int64_t width, uint16_t *out) {
    #pragma omp parallel for schedule(static) if (rows * width > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const uint16_t *g = gate_up + r * 2 * width, *u = g + width;
        uint16_t *o = out + r * width;
        #pragma omp simd
        for (int64_t d = 0; d < width; d++) {
            float gd = from_bf16(g[d]);
            float act = from_bf16(to_bf16(gd / (1.0f + exp_neg(-gd))));
            o[d] = to_bf16(act * from_bf16(u[d]));
        }
    }
}

/* The index of each row's largest logit (the first of equal ones, as torch.argmax), bfloat16 logits. */
void argmax_bf16(const uint16_t *logits, int64_t rows, int64_t vocab, int64_t *out) {
    #pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const uint16_t *x = logits + r * vocab;
        float best = -INFINITY;
        #pragma omp simd reduction(max:best)
        for (int64_t i = 0; i < vocab; i++) best = from_bf16(x[i]) > best ? from_bf16(x[i]) : best;
        int64_t at = 0;
        for (int64_t i = 0; i < vocab; i++)
            if (from_bf16(x[i]) == best) { at = i; break; }
        out[r] = at;
    }
}
