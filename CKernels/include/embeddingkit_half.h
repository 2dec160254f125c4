/* embeddingkit_half.h — whole-array conversions between float32 and the 2-byte table types
 * (EK_DTYPE_F16, EK_DTYPE_BF16 of embeddingkit.h, section 1): what a caller needs to make a half
 * table from float32 values (a fresh table, a float32 checkpoint) and to read one back. Part of the
 * C ABI (exported like every ek_* function); kept in its own header until it moves into
 * embeddingkit.h's section 1. */
#ifndef EMBEDDINGKIT_HALF_H
#define EMBEDDINGKIT_HALF_H

#include "embeddingkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = src[i] rounded to the nearest half of `dtype` (EK_DTYPE_F16 or EK_DTYPE_BF16), ties to
 * even: the EK_ROUND_NEAREST write of the optimizer updates (section 4), so PyTorch's
 * tensor.to(torch.float16 / torch.bfloat16). Past the largest finite half: infinity; NaN stays NaN
 * (quiet, sign kept). n >= 0; src and dst non-NULL unless n == 0; every check before any write. */
ek_status ek_half_from_f32(ek_dtype dtype, int64_t n, const float *src, uint16_t *dst);

/* dst[i] = src[i] widened to float32, exactly (as the forward verbs read a half table). */
ek_status ek_half_to_f32(ek_dtype dtype, int64_t n, const uint16_t *src, float *dst);

#ifdef __cplusplus
}
#endif

#endif
