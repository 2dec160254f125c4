#!/usr/bin/env python3
"""Writes Tests/Fixtures/safetensors/packed_u8.safetensors: U8 tensors beside F32 and I64 ones, as
the `safetensors` library writes them (the raw byte tensors of EmbeddingKit's `ByteTensor`).

Run from the repository root (needs torch and safetensors; CI never runs it):

    /work/venv/bin/python Tests/Fixtures/generate_safetensors_u8.py

Contents (deterministic: running it twice gives the same file):
  packed  U8  [3, 5]  (37 * i + 200) % 256 for i = 0..<15 (bytes above 127, so a sign error shows)
  one     U8  []      255 (a scalar)
  none    U8  [0, 4]  no bytes
  scale   F32 [2]     0.5, -2.0
  ids     I64 [2]     1, -1
  __metadata__: {"format": "rowwise_q8"} (one key: the library writes a map of several in a random
  order, so a file with two would not be deterministic)

The Swift test `ByteTensorSafeTensorsTests.pythonFileReadsAndRewritesByteForByte` reads it and
requires EmbeddingKit's writer to reproduce it byte for byte from what it read.
"""
import os

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = os.path.join(ROOT, "Tests", "Fixtures", "safetensors", "packed_u8.safetensors")


def main():
    tensors = {
        "packed": torch.tensor([(37 * i + 200) % 256 for i in range(15)], dtype=torch.uint8).reshape(3, 5),
        "one": torch.tensor(255, dtype=torch.uint8),
        "none": torch.zeros((0, 4), dtype=torch.uint8),
        "scale": torch.tensor([0.5, -2.0], dtype=torch.float32),
        "ids": torch.tensor([1, -1], dtype=torch.int64),
    }
    metadata = {"format": "rowwise_q8"}
    save_file(tensors, PATH, metadata=metadata)
    back = load_file(PATH)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
    print("%s: %d bytes" % (os.path.relpath(PATH, ROOT), os.path.getsize(PATH)))


if __name__ == "__main__":
    main()
