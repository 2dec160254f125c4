/* rowops.c — the row primitives of the scatters and backward passes (isa.h's table: axpy,
 * axpy_scaled, scale, scale_stream, copy, copy_stream), scalar versions; the vector ones are in
 * x86/avx2/rowops.c and x86/avx512/rowops.c.
 *   axpy:  dst[d] += a * src[d]
 *   axpy_scaled: dst[d] += a * (c * src[d])   (both products rounded: what scale into a row, then
 *                                              axpy of that row, gives)
 *   scale: dst[d]  = a * src[d]   (scale_stream: the same with non-temporal stores, for large outputs
 *                                   that are not read again soon; the caller ends with eki_stream_fence)
 *   copy:  dst[d]  = src[d] bit for bit (NaN payloads kept); copy_stream with non-temporal stores
 * Every variant multiplies and then adds, lane by lane (no FMA): the results are bit-identical to the
 * scalar loops for every ISA. */
#include <string.h>

#include "internal.h"

void eki_axpy_scalar(int64_t dim, float a, const float *restrict src, float *restrict dst) {
    for (int64_t d = 0; d < dim; d++) dst[d] += a * src[d];
}
void eki_axpy_scaled_scalar(int64_t dim, float a, float c, const float *restrict src, float *restrict dst) {
    for (int64_t d = 0; d < dim; d++) {
        float v = c * src[d];
        dst[d] += a * v;
    }
}
void eki_scale_scalar(int64_t dim, float a, const float *restrict src, float *restrict dst) {
    for (int64_t d = 0; d < dim; d++) dst[d] = a * src[d];
}
void eki_copy_scalar(int64_t dim, const float *src, float *dst) { memcpy(dst, src, sizeof(float) * (size_t)dim); }
