/* softmax.h — what softmax.c shares with its ISA files (x86/<isa>/softmax.c): the vectorised exp.
 * Internal. */
#ifndef EK_SOFTMAX_H
#define EK_SOFTMAX_H

/* ---- vectorised exp ----
 *
 * exp(x) = 2^n e^r with n = round(x log2 e) and r = x - n ln 2 (ln 2 in two parts, Cody & Waite), e^r
 * by Cephes' degree-7 polynomial for expf on |r| <= ln2 / 2 (about 1 ulp); x is first clamped to
 * [-104, 89] (NaN passes through; beyond it exp is 0 or inf anyway). 2^n: AVX-512 scalef (exact, denormals included); AVX2 two
 * exponent-field multiplies 2^(n/2) 2^(n - n/2), so the denormal range is rounded once, too.
 * Tests/c/test_isa.c bounds the error against libm's expf. */
#define EKI_EXP_HI 89.0f
#define EKI_EXP_LO -104.0f
#define EKI_LOG2E 1.44269504088896341f
#define EKI_LN2_HI 0.693359375f
#define EKI_LN2_LO -2.12194440e-4f
#define EKI_EXP_P0 1.9875691500E-4f
#define EKI_EXP_P1 1.3981999507E-3f
#define EKI_EXP_P2 8.3334519073E-3f
#define EKI_EXP_P3 4.1665795894E-2f
#define EKI_EXP_P4 1.6666665459E-1f
#define EKI_EXP_P5 5.0000001201E-1f

#endif
