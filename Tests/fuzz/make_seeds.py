#!/usr/bin/env python3
"""Writes the committed seed corpus Tests/fuzz/corpus/<harness>/seed-* (a few small inputs per harness).

Each seed is the byte layout its harness decodes (see the comment at the top of each fuzz_*.c and the
decoders in fuzz_common.h): one byte per size, option, index and float (a float byte b is
(int8)b / 16). Run from anywhere: python3 Tests/fuzz/make_seeds.py. The fuzzer's own finds go to
build/fuzz/corpus/ and are never committed.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def fl(*values):
    """Float bytes: v -> (int8)(v * 16)."""
    return [int(round(v * 16)) & 0xFF for v in values]


NO_PAD = 0x00      # padding byte < 0x80: EK_NO_PADDING
NO_NULLS = 0x00    # nulls byte < 0xE0: no pointer NULL, empty arrays not NULL
EMPTY_NULL = 0x01  # nulls byte: empty arrays passed as NULL

SEEDS = {
    "fuzz_embedding": {
        # flags num dim n padding scale nulls | indices | weight (num*dim) | grad_out (n*dim) | grad_weight
        "lookup": [0, 5, 2, 3, NO_PAD, 0, NO_NULLS] + [3, 1, 4] + fl(*range(1, 11)) + fl(1, 2, 3, 4, 5, 6)
        + fl(*[0] * 10),
        "padding-freq": [0, 5, 2, 4, 0x84, 5, NO_NULLS] + [2, 1, 1, 2] + fl(*[0.5] * 10) + fl(*range(8)) + fl(*[1] * 10),
        "out-of-range": [0, 4, 1, 3, NO_PAD, 0, NO_NULLS] + [0, 0xE1, 2] + fl(1, 2, 3, 4) + fl(1, 1, 1) + fl(0, 0, 0, 0),
        "empty": [0, 0, 3, 0, NO_PAD, 0, EMPTY_NULL],
        "overflow": [0, 5, 0xF8, 2, NO_PAD, 0, NO_NULLS],  # dim = 2^61: bytes overflow
        "specials": [1, 3, 2, 2, NO_PAD, 5, NO_NULLS] + [1, 1] + [0xF0, 0xF2, 0xF3, 16, 32, 0xF8] + fl(1, 2, 3, 4)
        + fl(0, 0, 0, 0, 0, 0),
    },
    "fuzz_bag": {
        # flags num dim n B mode okind wkind padding scale fwd bwd ocorrupt ovalue mcorrupt mvalue nulls
        # | indices | offset steps (B + ilo) | weight | psw (if any) | grad_out | grad_weight
        "sum-offsets": [0, 6, 2, 5, 2, 0, 0x01, 0x00, NO_PAD, 0, 0x01, 0, 0, 0, 0, 0, NO_NULLS]
        + [1, 2, 4, 5, 0] + [0, 2] + fl(*range(12)) + fl(1, 2, 3, 4) + fl(*[0] * 12),
        "mean-weights-ilo": [0, 6, 2, 5, 2, 1, 0x05, 0x01, NO_PAD, 0, 0x01, 0, 0, 0, 0, 0, NO_NULLS]
        + [1, 2, 4, 5, 0] + [0, 3, 0] + fl(*range(12)) + fl(1, 0.5, 2, -1, 1) + fl(1, 2, 3, 4) + fl(*[0] * 12),
        "max-fixed-padding": [0, 6, 3, 2, 3, 2, 0x40, 0x00, 0x84, 0, 0x03, 0, 0, 0, 0, 0, NO_NULLS]
        + [0, 1, 0, 5, 0, 3] + fl(*[1, -2, 3, 0, 0, 0, 2, 2, -3, 1, 1, 1, 0, 4, 0, -1, -1, -1]) + fl(*[1] * 9)
        + fl(*[0] * 18),
        "freq-sparse": [0, 4, 1, 6, 3, 0, 0x01, 0x00, NO_PAD, 5, 0x00, 0x10, 0, 0, 0, 0, NO_NULLS]
        + [1, 1, 2, 1, 3, 3] + [0, 2, 2] + fl(1, 2, 3, 4) + fl(1, -1, 2) + fl(0, 0, 0, 0),
        "bad-offsets": [0, 4, 1, 4, 2, 0, 0x01, 0x00, NO_PAD, 0, 0x00, 0, 0xC0, 2, 0, 0, NO_NULLS]
        + [0, 1, 2, 3] + [0, 2] + fl(1, 2, 3, 4) + fl(1, 1) + fl(0, 0, 0, 0),
        "max-corrupt-argmax": [0, 4, 2, 4, 2, 2, 0x01, 0x00, NO_PAD, 0, 0x03, 0, 0, 0, 0x03, 1, NO_NULLS]
        + [0, 1, 2, 3] + [0, 2] + fl(*range(8)) + fl(1, 1, 1, 1) + fl(*[0] * 8),
        "empty": [0, 0, 2, 0, 0, 1, 0x01, 0x00, NO_PAD, 0, 0x01, 0, 0, 0, 0, 0, EMPTY_NULL],
    },
    "fuzz_renorm": {
        # flags num dim n max_norm norm_type nulls | indices | weight
        "l2": [0, 4, 2, 5, 15, 0, NO_NULLS] + [0, 1, 1, 3, 0] + fl(3, 4, 0.5, 0.5, 1, 0, -6, 8),
        "l1-inf-p0": [0, 3, 3, 3, 7, 3, NO_NULLS] + [2, 0, 1] + fl(1, -2, 3, 0, 0, 0.25, -4, 4, 0),
        "p3": [0, 3, 2, 2, 3, 7, NO_NULLS] + [1, 2] + fl(1, 1, 2, 2, -3, 0),
        "bad-max-norm": [0, 2, 2, 1, 0xE2, 0, NO_NULLS] + [1] + fl(1, 2, 3, 4),
        "bad-index": [0, 2, 2, 2, 15, 0, NO_NULLS] + [0, 0xE5] + fl(1, 2, 3, 4),
    },
    "fuzz_coo": {
        # flags num dim nnz order alpha nulls | rows | values | table
        "unsorted-dups": [0, 5, 2, 5, 0, 16, NO_NULLS] + [3, 1, 3, 0, 1] + fl(*range(10)) + fl(*[1] * 10),
        "coalesced": [0, 5, 2, 3, 2, 0xF0 & 0x7F, NO_NULLS] + [4, 0, 2] + fl(*range(6)) + fl(*[0] * 10),
        "out-of-range": [0, 3, 1, 2, 0, 16, NO_NULLS] + [1, 0xE1] + fl(1, 2) + fl(0, 0, 0),
        "empty": [0, 0, 1, 0, 0, 16, EMPTY_NULL],
    },
    "fuzz_softmax": {
        # flags rows cols scale alias ignore smoothing reduction grad nulls | x | y | grad_y | targets
        "mean-smoothing": [0, 2, 3, 0, 0, 0, 2, 1, 1, NO_NULLS] + fl(1, 2, 3, -1, 0, 1) + fl(-1, -2, -0.5, -1, -1, -1)
        + fl(1, 0, -1, 0.5, 0.5, 0.5) + [0, 2],
        "sum-ignore-inplace": [0, 3, 4, 4, 0x0F, 0, 0, 2, 1, NO_NULLS] + fl(*range(12)) + fl(*[-1] * 12) + fl(*[1] * 12)
        + [3, 0xC0, 1],
        "none-large-logits": [0, 2, 2, 20, 0, 3, 0, 0, 0, NO_NULLS] + fl(7.9375, -8, 0, 0.0625) + fl(0, 0, 0, 0)
        + fl(1, 1, 1, 1) + [1, 0],
        "bad-target": [0, 2, 2, 0, 0, 0, 0, 1, 1, NO_NULLS] + fl(1, 2, 3, 4) + fl(0, 0, 0, 0) + fl(0, 0, 0, 0)
        + [0, 0xE1],
        "empty-mean": [0, 0, 3, 0, 0, 0, 0, 1, 1, EMPTY_NULL],
    },
    "fuzz_optim": {
        # flags op num dim nnz rows_kind corrupt_at corrupt_value lr momentum dampening decay nesterov eps
        # beta1 beta2 step nulls | rows | values | weight | state1 | state2
        "sgd-momentum-nesterov": [0, 0, 4, 2, 2, 1, 0, 0, 4, 14, 4, 1, 5, 0, 0, 0, 0, NO_NULLS] + [3, 1]
        + fl(1, -1, 2, 0.5) + fl(*range(8)) + fl(*[0.5] * 8) + fl(*[0] * 8),
        "sgd-dense": [0, 0, 3, 2, 2, 0, 0, 0, 16, 0, 4, 0, 0, 0, 0, 0, 0, NO_NULLS] + [0, 0]
        + fl(1, 1, 1, 1) + fl(*range(6)) + fl(*[0] * 6) + fl(*[0] * 6),
        "adagrad": [0, 1, 4, 2, 3, 1, 0, 0, 8, 0, 0, 2, 0, 4, 0, 0, 0, NO_NULLS] + [0, 1, 3]
        + fl(1, -1, 2, 0.5, 3, 3) + fl(*range(8)) + fl(*[0] * 8) + fl(*[0] * 8),
        "adam-step3": [0, 2, 4, 2, 2, 1, 0, 0, 1, 0, 0, 1, 0, 1, 14, 15, 2, NO_NULLS] + [0, 2]
        + fl(1, -1, 2, 0.5) + fl(*range(8)) + fl(*[0.25] * 8) + fl(*[0.5] * 8),
        "unsorted-rows": [0, 2, 4, 1, 3, 2, 1, 0, 1, 0, 0, 0, 0, 1, 14, 15, 0, NO_NULLS] + [0, 1, 2]
        + fl(1, 1, 1) + fl(1, 2, 3, 4) + fl(0, 0, 0, 0) + fl(0, 0, 0, 0),
        "bad-beta": [0, 2, 2, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0xE4, 15, 0, NO_NULLS] + [1]
        + fl(1) + fl(1, 2) + fl(0, 0) + fl(0, 0),
    },
    "fuzz_dense": {
        # flags family(0 layer norm) rows cols eps options nulls | x | weight | bias | mean | rstd | grad_y
        # | grad_weight | grad_bias
        "ln-all-arrays": [0, 0, 2, 3, 0, 0x1F, NO_NULLS] + fl(1, 2, 3, -1, 0, 4) + fl(1, 0.5, 2) + fl(0, 1, -1)
        + fl(2, 1) + fl(1, 0.5) + fl(1, -1, 0.5, 2, 0, 1) + fl(0, 0, 0) + fl(1, 1, 1),
        "ln-constant-row": [0, 0, 1, 4, 4, 0x04, NO_NULLS] + fl(3, 3, 3, 3) + fl(0) * 0 + fl(*[0] * 8) + fl(3) + fl(2)
        + fl(1, 2, 3, 4),
        "ln-bad-eps": [0, 0, 1, 2, 6, 0, NO_NULLS] + fl(1, 2) + fl(0, 0, 0, 0) + fl(0) + fl(1) + fl(1, 1),
        # family 1 (activations): n approximate aliasing nulls | x | grad_y
        "relu-nan": [1, 1, 3, 0, 0, NO_NULLS] + [0xF0] + fl(-1, 2) + fl(0.5, 0.5, 0.5),
        "gelu-tanh-in-place": [0, 1, 4, 5, 0x0F, NO_NULLS] + fl(-2, -0.5, 0.5, 3) + fl(1, 1, 1, 1),
        "gelu-bad-approximate": [0, 1, 2, 7, 0, NO_NULLS] + fl(1, 2) + fl(1, 1),
        # family 2 (dropout): n p seed options nulls | x | grad_y | mask bytes
        "dropout-half": [0, 2, 8, 3, 7, 0x01, NO_NULLS] + fl(*range(1, 9)) + fl(*[1] * 8) + [1, 0, 1, 1, 0, 0, 1, 0],
        "dropout-p1-in-place": [0, 2, 4, 6, 1, 0x07, NO_NULLS] + fl(1, 2, 3, 4) + fl(1, 1, 1, 1) + [0, 0, 1, 0],
        "dropout-bad-p": [0, 2, 2, 8, 0, 0, NO_NULLS] + fl(1, 2) + fl(1, 1) + [1, 1],
        # family 3 (losses): rows classes ignore_index reduction options(1 grad, 2 mse) nulls | floats | targets
        # | floats
        "nll-mean-ignore": [0, 3, 3, 4, 0, 1, 0x01, NO_NULLS] + fl(*[-1, -2, -0.5, -3] * 3) + [0, 3, 0xC0]
        + fl(*[0] * 12),
        "nll-bad-target": [0, 3, 2, 2, 0, 0, 0x01, NO_NULLS] + fl(-1, -2, -3, -4) + [0, 0xE1] + fl(0, 0, 0, 0),
        "mse-sum-grad": [0, 3, 5, 1, 0, 2, 0x03, NO_NULLS] + fl(1, 2, 3, -1, 0.5) + [0] * 5 + fl(0, 2, 1, 1, 0.5),
        "empty-mean": [0, 3, 0, 3, 0, 1, 0x01, EMPTY_NULL],
        # family 4 (matmul): m n k trans_a trans_b alpha beta nulls | a | b | c
        "matmul-trans-b": [0, 4, 2, 3, 4, 0, 5, 16, 0, NO_NULLS] + fl(*range(8)) + fl(*[0.5, -1, 1, 2] * 3)
        + fl(*[9] * 6),
        "matmul-k0-beta": [0, 4, 2, 2, 0, 0, 0, 16, 8, NO_NULLS] + fl(1, 2, 3, 4),
        "matmul-trans-a-beta": [0, 4, 3, 2, 2, 5, 0, 8, 16, NO_NULLS] + fl(1, 2, 3, 4, 5, 6) + fl(1, 0, 0, 1)
        + fl(1, 1, 1, 1, 1, 1),
    },
    "fuzz_quant": {
        # flags dtype rows dim stride n B mode opts pad | indices | offset steps | floats (rows*dim) | psw (n) | packed
        # opts: bit0 int32, bit1 weights, bit2 include_last_offset, bits3-4 offsets (0: fixed-length bags)
        "q8-sum": [0, 0, 3, 4, 0, 5, 2, 0, 0x08, NO_PAD] + [0, 2, 1, 1, 2] + [0, 2] + fl(*range(12))
        + fl(*[1] * 5) + [0] * 36,
        "q4-mean-weighted": [0, 1, 4, 5, 1, 6, 3, 1, 0x0B, NO_PAD] + [3, 0, 1, 2, 3, 3] + [0, 1, 3]
        + fl(*[x / 4 for x in range(20)]) + fl(1, 0.5, 2, 1, 1, 1) + [7] * 28,
        "q2-max-padding-last": [0, 2, 3, 7, 0, 4, 2, 2, 0x0C, 0x81] + [1, 2, 0, 1] + [0, 2, 4]
        + fl(*[(x % 5) - 2 for x in range(21)]) + fl(*[0] * 4) + [0x1B] * 18,
        "wrong-stride": [0, 0, 2, 3, 2, 2, 1, 0, 0x08, NO_PAD] + [0, 1] + [0] + fl(*range(6)) + fl(0, 0) + [1] * 22,
        "not-quantized": [0, 0xF0, 2, 3, 0, 2, 1, 0, 0x08, NO_PAD] + [0, 1] + [0] + fl(*range(6)) + fl(0, 0) + [1] * 24,
    },
}

# Minimised inputs of findings (issue 14), replayed by make fuzz-ci before any fuzzing: see README.md.
FINDINGS = {
    "fuzz_dense": {
        # layer norm backward, rows 0, cols 2^62, grad_weight set: returned EK_OK and wrote past grad_weight
        "I14-1-layer-norm-rows0-grad-weight": [0, 0, 0, 0xFA, 0, 0x08, NO_NULLS],
        # cols INT64_MAX with grad_weight and grad_bias: (cols + 63) / 64 overflowed
        "I14-1-layer-norm-cols-int64-max": [0, 0, 0, 0xF4, 0, 0x18, NO_NULLS],
        # matmul trans_a = 2 was taken as true
        "I14-4-matmul-trans-flag": [0, 4, 2, 2, 2, 7, 0, 16, 0, NO_NULLS] + fl(1, 2, 3, 4) + fl(1, 0, 0, 1)
        + fl(0, 0, 0, 0),
        # an empty product with k = 2^31 was refused (EK_ERR_OVERFLOW) though nothing is computed
        "I14-matmul-empty-wide-k": [0, 4, 0, 0, 0xFC, 0, 0, 16, 0, EMPTY_NULL],
        # ReLU backward at NaN gave 0 (PyTorch: the gradient passes)
        "I14-22-relu-backward-nan": [1, 1, 1, 0, 0, NO_NULLS] + [0xF0] + fl(0.5),
    },
}


def main():
    for prefix, table in (("seed-", SEEDS), ("finding-", FINDINGS)):
        for harness, seeds in table.items():
            folder = os.path.join(HERE, "corpus", harness)
            os.makedirs(folder, exist_ok=True)
            for name, data in seeds.items():
                with open(os.path.join(folder, prefix + name), "wb") as out:
                    out.write(bytes(b & 0xFF for b in data))
    print("wrote", sum(len(s) for s in SEEDS.values()), "seeds and", sum(len(s) for s in FINDINGS.values()),
          "findings under", os.path.join(HERE, "corpus"))


if __name__ == "__main__":
    main()
