#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/layers.json: PyTorch's outputs and gradients for the Swift layer's
layers and losses (layer norm, GELU, NLL, MSE, multi-head attention, Transformer encoder layers and
stacks, clip_grad_norm).

    .venv/bin/python Tests/Fixtures/generate_layers.py

Every case stores its inputs, the module's parameters under PyTorch's names (state_dict order), an
upstream gradient `g`, and what PyTorch computes: `out = f(inputs)` and the gradients of
`sum(out * g)` with respect to the inputs and every parameter (`grad.<name>`). Dropout is 0 (or the
module is in eval mode), so results are deterministic. Values are float lists, row-major, with shapes.
Deterministic: fixed seeds, one thread.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261121)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "values": [float(v) for v in t.reshape(-1).tolist()]}


def run_case(name, module, inputs, forward, extra=None):
    """inputs: dict name -> tensor (float ones get gradients); forward(module, inputs) -> output."""
    for t in inputs.values():
        if t.is_floating_point():
            t.requires_grad_(True)
    out = forward(module, inputs)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    case = {"name": name, "inputs": {k: enc(v) for k, v in inputs.items()}, "g": enc(g), "out": enc(out)}
    case["params"] = {k: enc(v) for k, v in module.named_parameters()} if module is not None else {}
    grads = {}
    for k, v in inputs.items():
        if v.is_floating_point():
            grads[k] = enc(v.grad)
    if module is not None:
        for k, v in module.named_parameters():
            grads[k] = enc(v.grad)
    case["grads"] = grads
    if extra:
        case.update(extra)
    return case


cases = []

# layer norm over the last dimension, with a non-trivial weight and bias
ln = nn.LayerNorm(5)
with torch.no_grad():
    ln.weight.copy_(torch.randn(5))
    ln.bias.copy_(torch.randn(5))
cases.append(run_case("layer_norm", ln, {"x": torch.randn(2, 3, 5) * 3 + 1}, lambda m, i: m(i["x"])))
ln2 = nn.LayerNorm([2, 4], elementwise_affine=False)
cases.append(run_case("layer_norm_2d_no_affine", ln2, {"x": torch.randn(3, 2, 4)}, lambda m, i: m(i["x"])))

# activations
x = torch.linspace(-5, 5, 41)
cases.append(run_case("gelu", None, {"x": x.clone()}, lambda m, i: F.gelu(i["x"])))
cases.append(run_case("gelu_tanh", None, {"x": x.clone()}, lambda m, i: F.gelu(i["x"], approximate="tanh")))
cases.append(run_case("relu", None, {"x": torch.randn(17)}, lambda m, i: F.relu(i["x"])))

# losses
logp = F.log_softmax(torch.randn(5, 4), dim=-1)
target = torch.tensor([1, 0, -100, 3, 2])
for red in ["mean", "sum", "none"]:
    cases.append(run_case(f"nll_{red}", None, {"x": logp.clone(), "target": target},
                          lambda m, i, red=red: F.nll_loss(i["x"], i["target"], reduction=red)))
    cases.append(run_case(f"mse_{red}", None, {"x": torch.randn(3, 4), "y": torch.randn(3, 4)},
                          lambda m, i, red=red: F.mse_loss(i["x"], i["y"], reduction=red)))


def nonzero_biases(module):
    # PyTorch starts several biases at zero; random ones make the gradient check meaningful
    with torch.no_grad():
        for k, p in module.named_parameters():
            if k.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.5)


# multi-head attention: self-attention, and cross-attention with a key padding mask and averaged weights
mha = nn.MultiheadAttention(8, 2)
nonzero_biases(mha)
cases.append(run_case("mha_self", mha, {"x": torch.randn(3, 2, 8)},
                      lambda m, i: m(i["x"], i["x"], i["x"], need_weights=False)[0]))
mha2 = nn.MultiheadAttention(8, 4, batch_first=True)
nonzero_biases(mha2)
kpm = torch.tensor([[0, 0, 0, 1], [0, 1, 1, 0]])
weights_holder = {}


def mha_cross(m, i):
    out, w = m(i["q"], i["k"], i["v"], key_padding_mask=i["kpm"].bool(), need_weights=True)
    weights_holder["w"] = w
    return out


c = run_case("mha_cross_batch_first", mha2, {"q": torch.randn(2, 3, 8), "k": torch.randn(2, 4, 8), "v": torch.randn(2, 4, 8),
                                             "kpm": kpm}, mha_cross)
c["attn_weights"] = enc(weights_holder["w"])
cases.append(c)

# Transformer encoder layers (dropout 0: deterministic); post-norm ReLU, pre-norm GELU, batch-first
for name, kwargs, shape in [
    ("encoder_layer_post_norm", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0), (3, 2, 8)),
    ("encoder_layer_pre_norm_gelu", dict(d_model=8, nhead=4, dim_feedforward=12, dropout=0.0, norm_first=True,
                                         activation="gelu"), (4, 2, 8)),
    ("encoder_layer_batch_first", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True), (2, 3, 8)),
]:
    layer = nn.TransformerEncoderLayer(**kwargs)
    nonzero_biases(layer)
    cases.append(run_case(name, layer, {"x": torch.randn(*shape)}, lambda m, i: m(i["x"]), {"config": kwargs}))

# a stack of two layers with a final norm, as seed 000 uses (seed 000 has one layer, d=20, 2 heads)
layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0)
stack = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
nonzero_biases(stack)
with torch.no_grad():  # distinct layers after the deep copies
    for p in stack.layers[1].parameters():
        p.add_(torch.randn_like(p) * 0.1)
cases.append(run_case("encoder_stack", stack, {"x": torch.randn(3, 2, 8)}, lambda m, i: m(i["x"])))

# clip_grad_norm_ over two dense gradients, norms 2 and inf
for norm_type in [2.0, float("inf")]:
    a, b = torch.randn(3, 4), torch.randn(5)
    pa, pb = nn.Parameter(torch.zeros(3, 4)), nn.Parameter(torch.zeros(5))
    pa.grad, pb.grad = a.clone(), b.clone()
    total = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm=1.5, norm_type=norm_type)
    cases.append({"name": f"clip_grad_norm_{norm_type}", "norm_type": norm_type if norm_type != float("inf") else "inf",
                  "max_norm": 1.5, "inputs": {"a": enc(a), "b": enc(b)}, "total": float(total),
                  "clipped": {"a": enc(pa.grad), "b": enc(pb.grad)}})

with open(os.path.join(HERE, "layers.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=None, separators=(",", ":"))
print(f"wrote {len(cases)} cases to Tests/Fixtures/layers.json")
