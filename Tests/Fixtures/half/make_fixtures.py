#!/usr/bin/env python3
"""Half-precision checkpoints written by PyTorch, for Tests/EmbeddingKitTests/HalfPrecisionTableTests.swift.

Run from the repository root (needs torch and safetensors; CI never runs it):

    /work/venv/bin/python Tests/Fixtures/half/make_fixtures.py

Writes, deterministically (fixed seed):
- bag_bf16.safetensors / bag_f16.safetensors: safetensors.torch.save_file(bag.state_dict()) of an
  nn.EmbeddingBag(6, 5) converted with .to(torch.bfloat16) / .to(torch.float16): one tensor "weight".
  Row 5 holds corner values: -0.0, a subnormal, the largest finite value, -inf, 1/3.
- bag_half.json: each table's values as PyTorch widens them (.float()), and the float32 table they
  were rounded from (PyTorch's .to() rounds to nearest, ties to even), as float32 bit patterns
  (uint32; exact, and JSON has no infinity).
"""
import json
import os
import struct

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def bits(t):
    """float32 bit patterns of a tensor's values."""
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in t.float().flatten().tolist()]


torch.manual_seed(18)
bag = torch.nn.EmbeddingBag(6, 5, mode="sum")
with torch.no_grad():
    bag.weight[5] = torch.tensor([-0.0, 1e-40, 3.0e38, float("-inf"), 1.0 / 3.0])
source = bag.weight.detach().clone()
out = {}
for name, dtype, big in (("bf16", torch.bfloat16, 3.0e38), ("f16", torch.float16, 65504.0)):
    half = torch.nn.EmbeddingBag(6, 5, mode="sum")
    with torch.no_grad():
        w = source.clone()
        w[5, 2] = big          # the largest finite value of each type
        half.weight.copy_(w)
    half = half.to(dtype)
    save_file(half.state_dict(), os.path.join(HERE, f"bag_{name}.safetensors"))
    out[name] = bits(half.weight.detach())
    out[f"{name}_source"] = bits(w)
with open(os.path.join(HERE, "bag_half.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
