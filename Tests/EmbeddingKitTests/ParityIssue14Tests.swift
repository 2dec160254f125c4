import Foundation
import Testing
@testable import EmbeddingKit

/// Issue 14, items 20, 21, 23 and the attention part of 9: differences from PyTorch 2.x.
/// Expected values come from PyTorch's own rules, cited at each test (no PyTorch run here).
@Suite("Parity issue 14: clipGradNorm")
struct ClipGradNormParityTests {
    private func grads(_ a: [Float], _ b: [Float]) -> (Tensor, Tensor) {
        let ta = Tensor.zeros([a.count]), tb = Tensor.zeros([b.count])
        ta.grad = .dense(Tensor(a))
        tb.grad = .dense(Tensor(b))
        return (ta, tb)
    }
    private func values(_ t: Tensor) -> [Float] { t.grad!.toDense().floats.array }
    private func bits(_ t: Tensor) -> [UInt32] { values(t).map(\.bitPattern) }

    /// clip_grad_norm_: total = NaN, clip_coef = max_norm / (NaN + 1e-6) = NaN, clamp(NaN, max=1) = NaN,
    /// and every gradient is multiplied by it: all NaN (EmbeddingKit used to leave them unscaled).
    @Test func nanGradientMakesEveryGradientNaN() throws {
        for normType: Float in [2, 1, 3, .infinity] {
            let (a, b) = grads([.nan, 1], [2])
            let total = try clipGradNorm([a, b], maxNorm: 1, normType: normType)
            #expect(total.isNaN, "normType \(normType)")
            #expect(values(a).allSatisfy { $0.isNaN } && values(b).allSatisfy { $0.isNaN }, "normType \(normType)")
        }
    }

    /// An infinite element: total = inf, clip_coef = 1 / inf = 0: finite elements become 0, the
    /// infinite one inf * 0 = NaN.
    @Test func infiniteGradientScalesByZero() throws {
        for normType: Float in [2, .infinity] {
            let (a, b) = grads([-.infinity, 1], [2])
            let total = try clipGradNorm([a, b], maxNorm: 1, normType: normType)
            #expect(total == .infinity)
            let va = values(a)
            #expect(va[0].isNaN && va[1] == 0 && values(b) == [0], "normType \(normType): \(va) \(values(b))")
        }
    }

    /// error_if_nonfinite=True raises before any gradient is touched.
    @Test func errorIfNonfiniteThrowsAndChangesNothing() throws {
        for bad: Float in [.nan, .infinity] {
            let (a, b) = grads([bad, 1], [2])
            let before = (bits(a), bits(b))
            #expect(throws: EmbeddingKitError.self) { try clipGradNorm([a, b], maxNorm: 1, errorIfNonfinite: true) }
            #expect(bits(a) == before.0 && bits(b) == before.1)
        }
        // a finite total clips as usual: norm 5 -> coefficient 1 / (5 + 1e-6)
        let (a, b) = grads([3, 0], [4])
        let total = try clipGradNorm([a, b], maxNorm: 1, errorIfNonfinite: true)
        #expect(total == 5)
        let c = Float(1) / (Float(5) + 1e-6)
        #expect(values(a) == [3 * c, 0] && values(b) == [4 * c])
    }

    /// Other p: total = (sum |g|^p)^(1/p) over all elements; p = 1 gives 1 + 2 + 3 = 6.
    @Test func otherNormTypes() throws {
        let (a, b) = grads([1, -2], [3])
        let total = try clipGradNorm([a, b], maxNorm: 3, normType: 1)
        #expect(total == 6)
        let c = Float(3) / (Float(6) + 1e-6)
        #expect(values(a) == [1 * c, -2 * c] && values(b) == [3 * c])
        // p = 3: (1 + 8 + 27)^(1/3) = 36^(1/3), under maxNorm 10: unchanged
        let (d, e) = grads([1, -2], [3])
        let t3 = try clipGradNorm([d, e], maxNorm: 10, normType: 3)
        #expect(abs(t3 - Float(Foundation.pow(36.0, 1.0 / 3))) < 1e-6)
        #expect(values(d) == [1, -2] && values(e) == [3])
    }

    /// Values that come from a configuration are refused with an error, and nothing changes.
    @Test func badArgumentsThrow() {
        for (maxNorm, normType): (Float, Float) in [(-1, 2), (.nan, 2), (1, 0), (1, -2), (1, .nan), (1, -.infinity)] {
            let (a, b) = grads([3, 0], [4])
            #expect(throws: EmbeddingKitError.self, "maxNorm \(maxNorm) normType \(normType)") {
                try clipGradNorm([a, b], maxNorm: maxNorm, normType: normType)
            }
            #expect(values(a) == [3, 0] && values(b) == [4])
        }
    }
}

/// Expected strings follow torch/_tensor_str.py (precision 4, threshold 1000, edgeitems 3,
/// linewidth 80): `_Formatter` picks one style and a width from the non-zero finite values,
/// `_vector_str` puts floor((80 - indent) / (width + 2)) elements on a line and the summary mark
/// " ..." unpadded, `_str_intern` adds `size=` / `dtype=` for empty tensors, `_add_suffixes` wraps a
/// suffix that would pass column 80.
@Suite("Parity issue 14: printing")
struct PrintingParityTests {
    private let row: [Float] = [0.5, -0.25, 0.125, -0.5, 0.75, -0.75, 0.25, -0.125, 0.5, -0.25, 0.125, -0.5]

    /// Width 7 ("-0.2500"); a 2-D row has indent 8: (80 - 8) / 9 = 8 values a line; the
    /// continuation lines start at column indent + 1.
    @Test func wrapsAtEightyColumns() {
        let t = Tensor([row, row.map { -$0 }])
        #expect(t.description == """
            tensor([[ 0.5000, -0.2500,  0.1250, -0.5000,  0.7500, -0.7500,  0.2500, -0.1250,
                      0.5000, -0.2500,  0.1250, -0.5000],
                    [-0.5000,  0.2500, -0.1250,  0.5000, -0.7500,  0.7500, -0.2500,  0.1250,
                     -0.5000,  0.2500, -0.1250,  0.5000]])
            """)
        // 1-D, indent 7: (80 - 7) / 9 = 8 as well
        #expect(Tensor(row).description == """
            tensor([ 0.5000, -0.2500,  0.1250, -0.5000,  0.7500, -0.7500,  0.2500, -0.1250,
                     0.5000, -0.2500,  0.1250, -0.5000])
            """)
        // width 3 ("10."): (80 - 7) / 5 = 14 values on the first line
        let ints = Tensor((0..<20).map { Float($0 % 2 == 0 ? 10 : 1) })
        #expect(ints.description == """
            tensor([10.,  1., 10.,  1., 10.,  1., 10.,  1., 10.,  1., 10.,  1., 10.,  1.,
                    10.,  1., 10.,  1., 10.,  1.])
            """)
    }

    /// More than 1000 elements: three first and last of each long dimension, " ..." not padded.
    @Test func summarisedTensors() {
        // torch.arange(10000) prints tensor([   0,    1,    2,  ..., 9997, 9998, 9999])
        #expect(Tensor.arange(10000).description == "tensor([   0,    1,    2,  ..., 9997, 9998, 9999])")
        // floats 0...1000: int mode (1000 / 1 is not > 1000), width len("1000") + 1
        let f = Tensor((0...1000).map(Float.init))
        #expect(f.description == "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])")
        let rows = Tensor((0..<400).map { r in [Float](repeating: Float(r), count: 3) })
        #expect(rows.description == """
            tensor([[  0.,   0.,   0.],
                    [  1.,   1.,   1.],
                    [  2.,   2.,   2.],
                    ...,
                    [397., 397., 397.],
                    [398., 398., 398.],
                    [399., 399., 399.]])
            """)
    }

    @Test func emptyTensors() {
        #expect(Tensor.zeros([0, 3]).description == "tensor([], size=(0, 3))")
        #expect(Tensor.zeros([2, 0]).description == "tensor([], size=(2, 0))")
        #expect(Tensor.zeros([0]).description == "tensor([])")
        #expect(Tensor.zeros([1, 0, 2]).description == "tensor([], size=(1, 0, 2))")
        #expect(Tensor(shape: [0], ints: []).description == "tensor([], dtype=torch.int64)")
        #expect(Tensor(shape: [0, 2], ints: []).description == "tensor([], size=(0, 2), dtype=torch.int64)")
    }

    /// A sparse gradient with no entries (an empty lookup): PyTorch prints the empty indices and values
    /// with their sizes (`_str_intern`'s sparse branch).
    @Test func emptySparseGradient() throws {
        let embed = try Embedding(count: 5, dimension: 3, sparse: true, generator: Generator(seed: 1))
        try embed(Tensor(indices: [Int]())).sum().backward()
        #expect(embed.weight.grad?.description == """
            tensor(indices=tensor([], size=(1, 0)),
                   values=tensor([], size=(0, 3)),
                   size=(5, 3), nnz=0, layout=torch.sparse_coo)
            """)
    }

    /// Only non-zero finite values set the width and the style.
    @Test func zerosNaNAndInfinitiesDoNotSetTheWidth() {
        #expect(Tensor([-0.0, 0, 1]).description == "tensor([-0., 0., 1.])")
        #expect(Tensor([0.0, 0]).description == "tensor([0., 0.])")
        #expect(Tensor([.nan, 1]).description == "tensor([nan, 1.])")
        #expect(Tensor([.nan, 0.5]).description == "tensor([   nan, 0.5000])")
        #expect(Tensor([-.infinity, .infinity]).description == "tensor([-inf, inf])")
        // sci mode pads to len("2.5000e+00") = 10, non-finite values included
        #expect(Tensor([-.infinity, 2.5, 1e-5]).description == "tensor([      -inf, 2.5000e+00, 1.0000e-05])")
        #expect(Tensor(scalar: -0.0).description == "tensor(-0.)")
        #expect(Tensor(scalar: 0.5).description == "tensor(0.5000)")
    }

    @Test func scientificModeThresholds() {
        // float32 1e-4 is 9.99999974737875e-05 < 1e-4: scientific
        #expect(Tensor([1e-4]).description == "tensor([1.0000e-04])")
        // integral values whose magnitudes span more than 1000x print in scientific notation too
        #expect(Tensor([1.0, 1001]).description == "tensor([1.0000e+00, 1.0010e+03])")
        #expect(Tensor([1.0, 1000]).description == "tensor([   1., 1000.])")
        // above 1e8
        #expect(Tensor([2e8]).description == "tensor([2.0000e+08])")
        #expect(Tensor([1e8]).description == "tensor([100000000.])")
    }

    /// `_add_suffixes`: "tensor([" + 8 values + "])" is 79 columns, PyTorch counts it as 81, and
    /// 81 + len(suffix) + 2 > 80 puts the suffix on its own line indented by 7.
    @Test func longSuffixesWrap() {
        let x = Tensor(Array(row.prefix(8)))
        x.requiresGrad = true
        #expect(x.description == """
            tensor([ 0.5000, -0.2500,  0.1250, -0.5000,  0.7500, -0.7500,  0.2500, -0.1250],
                   requires_grad=True)
            """)
        #expect((x * 2).description == """
            tensor([ 1.0000, -0.5000,  0.2500, -1.0000,  1.5000, -1.5000,  0.5000, -0.2500],
                   grad_fn=<MulBackward0>)
            """)
        let e = Tensor.zeros([0, 3])
        e.requiresGrad = true
        #expect(e.description == "tensor([], size=(0, 3), requires_grad=True)")
    }

    /// PyTorch 2.x node names (type(t.grad_fn).__name__) for the same operations.
    @Test func gradFunctionNames() throws {
        let w = Tensor.randn([5, 3], generator: Generator(seed: 1))
        w.requiresGrad = true
        let idx = Tensor(indices: [0, 2])
        #expect(try embedding(idx, w).gradFunctionName == "EmbeddingBackward0")
        #expect(try embedding(idx, w, sparse: true).gradFunctionName == "EmbeddingBackward0")
        let printed = try embedding(idx, w, sparse: true).description
        #expect(printed.hasSuffix(", grad_fn=<EmbeddingBackward0>)"), "\(printed)")
        #expect(try embeddingBag(idx, w, offsets: Tensor(indices: [0])).gradFunctionName == "EmbeddingBagBackward0")

        let x2 = Tensor.randn([2, 3], generator: Generator(seed: 2)), x3 = Tensor.randn([4, 2, 3], generator: Generator(seed: 3))
        let lw = Tensor.randn([4, 3], generator: Generator(seed: 4)), lb = Tensor.zeros([4])
        lw.requiresGrad = true
        lb.requiresGrad = true
        #expect(linear(x2, lw, lb).gradFunctionName == "AddmmBackward0")
        #expect(linear(x3, lw, lb).gradFunctionName == "ViewBackward0")         // _flatten_nd_linear
        #expect(linear(x2, lw).gradFunctionName == "MmBackward0")
        #expect(linear(x3, lw).gradFunctionName == "UnsafeViewBackward0")      // matmul folds, then _unsafe_view

        let y = linear(x2, lw, lb)
        #expect(y.transpose(0, 1).gradFunctionName == "TransposeBackward0")
        #expect(y.permute([1, 0]).gradFunctionName == "PermuteBackward0")
        #expect(y.reshape([8]).gradFunctionName == "ViewBackward0")
        #expect(y.unsqueeze(0).gradFunctionName == "UnsqueezeBackward0")
        #expect(y.sum().gradFunctionName == "SumBackward0")
        #expect(y.sum(dim: 1).gradFunctionName == "SumBackward1")
        #expect(y.mean().gradFunctionName == "MeanBackward0")
        #expect(y.mean(dim: 0).gradFunctionName == "MeanBackward1")
        #expect(y[0].gradFunctionName == "SelectBackward0")
        #expect(y.narrow(1, start: 1, length: 2).gradFunctionName == "SliceBackward0")
        #expect(Tensor.cat([y, y]).gradFunctionName == "CatBackward0")
        #expect(Tensor.stack([y, y]).gradFunctionName == "StackBackward0")
        #expect(softmax(y).gradFunctionName == "SoftmaxBackward0")
        #expect(logSoftmax(y).gradFunctionName == "LogSoftmaxBackward0")
        #expect(relu(y).gradFunctionName == "ReluBackward0")
        #expect((y + y).gradFunctionName == "AddBackward0")
        #expect((y - 1).gradFunctionName == "SubBackward0")
        #expect((y / 2).gradFunctionName == "DivBackward0")
        #expect((-y).gradFunctionName == "NegBackward0")
        // CPU dropout in training is input * (bernoulli mask / (1 - p)): MulBackward0
        #expect(try dropout(y, p: 0.5, training: true, generator: Generator(seed: 5)).gradFunctionName == "MulBackward0")
        #expect(try layerNorm(y, normalizedShape: [4]).gradFunctionName == "NativeLayerNormBackward0")
        #expect(try crossEntropy(y, Tensor(indices: [0, 1])).gradFunctionName == "NllLossBackward0")
        #expect(Tensor.bmm(y.unsqueeze(0), y.unsqueeze(0), transposeB: true).gradFunctionName == "BmmBackward0")
        #expect(y.norm(dim: 1).gradFunctionName == "LinalgVectorNormBackward0")
    }
}

@Suite("Parity issue 14: attention")
struct AttentionParityTests {
    /// MultiheadAttention(4, 2) with out_proj.bias = [0.1, 0.2, 0.3, 0.4] and dropout off.
    private func attention(batchFirst: Bool = false) throws -> MultiheadAttention {
        let mha = try MultiheadAttention(embedDim: 4, numHeads: 2, batchFirst: batchFirst, generator: Generator(seed: 7))
        mha.outProj.bias!.floats = FloatStorage([0.1, 0.2, 0.3, 0.4])
        mha.train(false)
        return mha
    }

    /// Item 9: a length-0 sequence gives an empty output of the query's shape ([0, 1, E] in PyTorch),
    /// and weights [N, 0, 0]; an empty batch likewise.
    @Test func emptySequencesAndBatches() throws {
        let mha = try attention()
        for needWeights in [true, false] {
            let x = Tensor.zeros([0, 1, 4])
            let (out, weights) = mha(x, x, x, needWeights: needWeights)
            #expect(out.shape == [0, 1, 4])
            #expect(weights?.shape == (needWeights ? [1, 0, 0] : nil))
            let (u, _) = mha(Tensor.zeros([0, 4]), Tensor.zeros([0, 4]), Tensor.zeros([0, 4]), needWeights: needWeights)
            #expect(u.shape == [0, 4])
            let b = Tensor.zeros([3, 0, 4])
            let (ob, wb) = mha(b, b, b, keyPaddingMask: Tensor.zeros([0, 3]), needWeights: needWeights)
            #expect(ob.shape == [3, 0, 4] && wb?.shape == (needWeights ? [0, 3, 3] : nil))
        }
        let bf = try attention(batchFirst: true)
        let x = Tensor.zeros([1, 0, 4])
        #expect(bf(x, x, x).output.shape == [1, 0, 4])
    }

    /// No keys (S = 0): every query attends to nothing, attn_output = 0, so out = out_proj.bias.
    @Test func noKeysGivesTheOutputBias() throws {
        let mha = try attention()
        let q = Tensor.randn([2, 1, 4], generator: Generator(seed: 8)), kv = Tensor.zeros([0, 1, 4])
        for needWeights in [true, false] {
            let (out, weights) = mha(q, kv, kv, needWeights: needWeights)
            #expect(out.shape == [2, 1, 4])
            #expect(out.floats.array == [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4])
            if needWeights { #expect(weights?.shape == [1, 2, 0]) }
        }
    }

    /// Item 20, and the same class through a float attention mask: with need_weights=False PyTorch
    /// runs scaled_dot_product_attention, whose softmax gives a row of all -inf scores weights 0
    /// (at::_safe_softmax; the CPU flash kernel also writes 0): the query's output is out_proj.bias.
    /// With need_weights=True it takes a plain softmax: NaN, as PyTorch.
    @Test func fullyMaskedQueriesAttendToNothing() throws {
        let mha = try attention()
        let x = Tensor.randn([3, 2, 4], generator: Generator(seed: 9))
        let padding = Tensor(shape: [2, 3], indices: [0, 0, 1, 1, 1, 1])   // batch item 1: every key padded
        let (out, _) = mha(x, x, x, keyPaddingMask: padding, needWeights: false)
        for l in 0..<3 {
            #expect(Array(out.floats.array[(l * 2 + 1) * 4..<(l * 2 + 2) * 4]) == [0.1, 0.2, 0.3, 0.4], "row \(l)")
            #expect(out.floats.array[(l * 2) * 4..<(l * 2 + 1) * 4].allSatisfy { $0.isFinite })
        }
        let (slow, weights) = mha(x, x, x, keyPaddingMask: padding, needWeights: true)
        #expect(slow.floats.array[4..<8].allSatisfy { $0.isNaN } && weights!.floats.array[9...].allSatisfy { $0.isNaN })
        #expect(slow.floats.array[0..<4].allSatisfy { $0.isFinite })

        // attn_mask [L, S] whose second row forbids every key: that query's output is the bias
        let inf = -Float.infinity
        let mask = Tensor([[0.0, inf, 0], [inf, inf, inf], [0, 0, inf]])
        let (masked, _) = mha(x, x, x, needWeights: false, attnMask: mask)
        #expect(Array(masked.floats.array[8..<16]) == [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4])
        #expect(masked.floats.array.allSatisfy { $0.isFinite })
    }

    /// Item 20 by hand: TransformerEncoderLayer(d_model 2, nhead 1, dim_feedforward 2, dropout 0),
    /// norms with weight 1 and bias 0, linear1 = 0, linear2 weight 0 and bias [0.25, 0],
    /// out_proj.bias [0.5, -0.5]. Batch item 1 is all padding: its attention output is the out_proj
    /// bias, so x1 = LN(src + [0.5, -0.5]) and out = LN(x1 + [0.25, 0]).
    @Test func transformerLayerWithAFullyPaddedItem() throws {
        let layer = try TransformerEncoderLayer(dModel: 2, nHead: 1, dimFeedforward: 2, dropout: 0, generator: Generator(seed: 10))
        layer.eval()
        layer.selfAttention.outProj.bias!.floats = FloatStorage([0.5, -0.5])
        layer.linear1.weight.floats = FloatStorage(repeating: 0, count: 4)
        layer.linear1.bias!.floats = FloatStorage(repeating: 0, count: 2)
        layer.linear2.weight.floats = FloatStorage(repeating: 0, count: 4)
        layer.linear2.bias!.floats = FloatStorage([0.25, 0])
        // src [L=2, N=2, E=2]; item 1 rows are [1, 3] and [2, 0]
        let src = Tensor([[[0.3, -0.7], [1, 3]], [[0.9, 0.1], [2, 0]]])
        src.requiresGrad = true
        let padding = Tensor(shape: [2, 2], indices: [0, 0, 1, 1])
        let out = layer(src, srcKeyPaddingMask: padding)

        /// LayerNorm over two values (biased variance, eps 1e-5), in Double.
        func ln(_ v: [Double]) -> [Double] {
            let m = (v[0] + v[1]) / 2, variance = ((v[0] - m) * (v[0] - m) + (v[1] - m) * (v[1] - m)) / 2
            return v.map { ($0 - m) / (variance + 1e-5).squareRoot() }
        }
        for (l, row) in [[1.0, 3.0], [2.0, 0.0]].enumerated() {
            let x1 = ln([row[0] + 0.5, row[1] - 0.5])
            let want = ln([x1[0] + 0.25, x1[1]])
            let got = out.floats.array[(l * 2 + 1) * 2..<(l * 2 + 2) * 2].map(Double.init)
            #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-5 }, "row \(l): \(got) vs \(want)")
        }
        #expect(out.floats.array.allSatisfy { $0.isFinite })
        // and the backward pass stays finite (softmax's derivative at a zero row is zero)
        out.sum().backward()
        for (name, p) in layer.namedParameters().map({ ($0.name, $0.tensor) }) {
            #expect(p.grad.map { $0.toDense().floats.array.allSatisfy { $0.isFinite } } ?? true, "\(name)")
        }
        #expect(src.grad!.toDense().floats.array.allSatisfy { $0.isFinite })
    }

    /// Item 9 for the encoder layer: a length-0 sequence and an empty batch keep their shapes.
    @Test func transformerLayerOnEmptyInputs() throws {
        let layer = try TransformerEncoderLayer(dModel: 4, nHead: 2, dimFeedforward: 8, dropout: 0, generator: Generator(seed: 11))
        layer.eval()
        #expect(layer(Tensor.zeros([0, 1, 4])).shape == [0, 1, 4])
        #expect(layer(Tensor.zeros([3, 0, 4]), srcKeyPaddingMask: Tensor.zeros([0, 3])).shape == [3, 0, 4])
        #expect(layer(Tensor.zeros([0, 4])).shape == [0, 4])
    }
}
