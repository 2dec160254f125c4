#!/usr/bin/env python3
"""Writes the safetensors fixtures: files PyTorch wrote, and the values in them as text.

Run from the repository root (needs torch and safetensors; CI never runs it):

    .venv/bin/python Tests/Fixtures/generate_safetensors.py

Writes, deterministically (fixed seeds; running it twice gives identical files):

- Tests/Fixtures/safetensors/*.safetensors: `safetensors.torch.save_file(module.state_dict(), ...)` of
  PyTorch modules whose parameter names match EmbeddingKit's (nn.Embedding, nn.EmbeddingBag, nn.Linear:
  `weight`, `bias`; a two-child model: `embed.weight`, `head.weight`, `head.bias`), the Linear's
  tensors also as F16 and BF16, and a file with I64 tensors.
- Tests/Fixtures/safetensors/expected.txt: every tensor of every file with its dtype, shape and values
  as float32 (`%.9g`, round-trips exactly) or int64, in the format of Tests/Fixtures/README.md:
      case <file>
      <name> dtype <DTYPE>
      <name> shape i <rank> <dims...>
      <name> f|i <count> <values...>
      end
  For F16 / BF16 tensors the values are PyTorch's own `.float()` of them.
- Tests/fuzz/corpus/fuzz_safetensors/seed-*: the seed corpus of the safetensors fuzz harness (the
  files above, and hand-built headers for the corners: metadata, escapes, scalars, empty tensors,
  and a few invalid ones).

It then checks what it wrote with the safetensors library itself: every file loads back with
`safetensors.torch.load_file` into its module with `load_state_dict(strict=True)`, bit-identical.

That PyTorch reads what EmbeddingKit writes is checked in CI without PyTorch: the Swift test
`writerMatchesPyTorchBytes` (Tests/EmbeddingKitTests/CheckpointTests.swift) requires EmbeddingKit's
writer to reproduce these files byte for byte from the tensors and metadata it read from them.
"""
import json
import os
import struct

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "safetensors")
SEEDS = os.path.join(ROOT, "Tests", "fuzz", "corpus", "fuzz_safetensors")

DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
               torch.int32: "I32"}


class Model(torch.nn.Module):
    """Two children, as EmbeddingKit's test model: embed (Embedding) and head (Linear)."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(6, 4)
        self.head = torch.nn.Linear(4, 3)


def modules():
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(10, 4, padding_idx=0)
    torch.manual_seed(1)
    bag = torch.nn.EmbeddingBag(8, 3, mode="sum")
    torch.manual_seed(2)
    linear = torch.nn.Linear(5, 3)
    torch.manual_seed(3)
    model = Model()
    return {"embedding": embedding, "embedding_bag": bag, "linear": linear, "model": model}


def fmt_float(x):
    return "%.9g" % x


def describe(name, t):
    lines = ["%s dtype %s" % (name, DTYPE_NAMES[t.dtype]),
             ("%s shape i %d %s" % (name, t.dim(), " ".join(str(d) for d in t.shape))).rstrip()]
    flat = t.reshape(-1)
    if t.dtype in (torch.int64, torch.int32):
        lines.append(("%s i %d " % (name, flat.numel()) + " ".join(str(int(v)) for v in flat.tolist())).rstrip())
    else:
        lines.append(("%s f %d " % (name, flat.numel()) + " ".join(fmt_float(v) for v in flat.float().tolist())).rstrip())
    return lines


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(SEEDS, exist_ok=True)
    mods = modules()
    files = {}
    for name, module in mods.items():
        state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
        files[name + ".safetensors"] = (state, {"format": "pt"} if name == "model" else None)
    lin = mods["linear"].state_dict()
    files["linear_f16.safetensors"] = ({k: v.half() for k, v in lin.items()}, None)
    files["linear_bf16.safetensors"] = ({k: v.bfloat16() for k, v in lin.items()}, None)
    files["mixed_i64.safetensors"] = ({
        "indices": torch.tensor([[0, 3, 9], [2, 2, -1]], dtype=torch.int64),
        "step": torch.tensor(123456789012, dtype=torch.int64),   # a scalar: shape []
        "scale": torch.tensor([0.5, -2.0], dtype=torch.float32),
    }, {"note": "I64 tensors and a scalar"})

    expected = ["# written by Tests/Fixtures/generate_safetensors.py with torch %s, safetensors %s"
                % (torch.__version__, __import__("safetensors").__version__)]
    for fname, (state, metadata) in files.items():
        path = os.path.join(OUT, fname)
        save_file(state, path, metadata=metadata)
        expected.append("case " + fname)
        for k in sorted(state):
            expected.extend(describe(k, state[k]))
        expected.append("end")
        print("%s: %d tensors, %d bytes" % (fname, len(state), os.path.getsize(path)))
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(expected) + "\n")

    # Check: each module file loads back into a fresh module of the same shape, bit-identical.
    for name, module in mods.items():
        loaded = load_file(os.path.join(OUT, name + ".safetensors"))
        fresh = type(module)() if name == "model" else None
        if fresh is None:
            fresh = {"embedding": lambda: torch.nn.Embedding(10, 4, padding_idx=0),
                     "embedding_bag": lambda: torch.nn.EmbeddingBag(8, 3, mode="sum"),
                     "linear": lambda: torch.nn.Linear(5, 3)}[name]()
        fresh.load_state_dict(loaded, strict=True)
        for k, v in module.state_dict().items():
            assert torch.equal(fresh.state_dict()[k], v), (name, k)

    write_seeds(files)


def frame(header_bytes, data=b""):
    return struct.pack("<Q", len(header_bytes)) + header_bytes + data


def write_seeds(files):
    seeds = {}
    for fname in ("embedding.safetensors", "model.safetensors", "linear_f16.safetensors", "mixed_i64.safetensors"):
        with open(os.path.join(OUT, fname), "rb") as f:
            seeds["seed-" + fname.replace(".safetensors", "")] = f.read()
    seeds["seed-empty"] = frame(b"{}")
    seeds["seed-padded-empty"] = frame(b"{}      ")
    hdr = json.dumps({"__metadata__": {"k\u00e9y": "v\n\"al\""},
                      "caf\u00e9 \U0001F600\\/": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
                      "s": {"dtype": "U8", "shape": [], "data_offsets": [4, 5]},
                      "z": {"dtype": "F64", "shape": [0, 7], "data_offsets": [5, 5]}}, ensure_ascii=True)
    seeds["seed-escapes-scalar-empty"] = frame(hdr.encode(), b"\x80\x3f\x00\xc0\x07")
    hdr = '{"a":{"dtype":"I32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"U64","shape":[1],"data_offsets":[8,16]}}'
    seeds["seed-ints"] = frame(hdr.encode(), struct.pack("<iiQ", -1, 7, 1 << 63))
    seeds["seed-bad-dtype"] = frame(b'{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}', b"\x00")
    seeds["seed-overlap"] = frame(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                  b'"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8))
    seeds["seed-overflow"] = frame(b'{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}')
    seeds["seed-truncated"] = frame(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', bytes(8))[:-3]
    for name, data in sorted(seeds.items()):
        assert len(data) <= 4096, name   # make fuzz runs with -max_len=4096
        with open(os.path.join(SEEDS, name), "wb") as f:
            f.write(data)
    print("%d fuzz seeds in %s" % (len(seeds), os.path.relpath(SEEDS, ROOT)))


if __name__ == "__main__":
    main()
