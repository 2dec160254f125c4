import CKernels

/// Element-wise arithmetic with broadcasting, differentiable.
extension Tensor {
    /// `op` element-wise over the broadcast of `a` and `b` (float tensors), one kernel call: a scalar
    /// or a same-shape operand takes the kernel's flat loops; no per-element offsets are built.
    static func zipBroadcast(_ a: Tensor, _ b: Tensor, op: String, _ kernel: ek_binary_op, p: Float = 0) -> Tensor {
        precondition(a.dtype == .float32 && b.dtype == .float32, "\(op): needs float tensors, got \(a.dtype) and \(b.dtype)")
        let out = a.shape == b.shape ? a.shape : Broadcast.shape(a.shape, b.shape, op: op)
        return Tensor(shape: out, floats: TensorKernels.binary(kernel, out, a.floats, Broadcast.strides(of: a.shape, in: out),
                                                               b.floats, Broadcast.strides(of: b.shape, in: out), p: p))
    }

    /// `op` applied to every element of a float tensor.
    func map(_ op: ek_unary_op, p: Float = 0) -> Tensor {
        precondition(dtype == .float32, "map: needs a float tensor")
        return Tensor(shape: shape, floats: TensorKernels.unary(op, floats, p: p))
    }

    /// Element-wise `a + b`, broadcasting the shapes (float tensors).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "+", EK_BINARY_ADD).recorded("AddBackward0", [a, b]) { g in
            [.dense(g.sumTo(a.shape)), .dense(g.sumTo(b.shape))]
        }
    }

    /// Element-wise `a - b`, broadcasting the shapes (float tensors).
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "-", EK_BINARY_SUB).recorded("SubBackward0", [a, b]) { g in
            [.dense(g.sumTo(a.shape)), .dense(g.map(EK_UNARY_NEG).sumTo(b.shape))]
        }
    }

    /// Element-wise `a * b` (not the matrix product: see `matmul`), broadcasting the shapes (float tensors).
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "*", EK_BINARY_MUL).recorded("MulBackward0", [a, b]) { g in
            [.dense(zipBroadcast(g, b, op: "*", EK_BINARY_MUL).sumTo(a.shape)), .dense(zipBroadcast(g, a, op: "*", EK_BINARY_MUL).sumTo(b.shape))]
        }
    }

    /// Element-wise `a / b`, broadcasting the shapes (float tensors).
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "/", EK_BINARY_DIV).recorded("DivBackward0", [a, b]) { g in
            let ga = zipBroadcast(g, b, op: "/", EK_BINARY_DIV)
            let gb = zipBroadcast(zipBroadcast(g, a, op: "*", EK_BINARY_MUL), b, op: "/", EK_BINARY_NEG_DIV_SQ) // -g a / b²
            return [.dense(ga.sumTo(a.shape)), .dense(gb.sumTo(b.shape))]
        }
    }

    /// Element-wise negation.
    public static prefix func - (a: Tensor) -> Tensor {
        a.map(EK_UNARY_NEG).recorded("NegBackward0", [a]) { g in [.dense(g.map(EK_UNARY_NEG))] }
    }

    /// `s` added to every element.
    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor(scalar: s) }
    /// `s` subtracted from every element.
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor(scalar: s) }
    /// Every element times `s`.
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor(scalar: s) }
    /// Every element divided by `s`.
    public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor(scalar: s) }
    /// `s` times every element, as in `0.5 * embedding.weight[1]`.
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) * a }

    /// Element-wise square root.
    public func sqrt() -> Tensor {
        let y = map(EK_UNARY_SQRT)
        let roots = y.floats // the values, not the tensor: the tensor owns this closure (no cycle)
        return y.recorded("SqrtBackward0", [self]) { g in
            [.dense(Tensor(shape: g.shape, floats: TensorKernels.binary(EK_BINARY_DIV_TWICE, g.shape, g.floats,
                                                                        Broadcast.contiguous(g.shape), roots,
                                                                        Broadcast.contiguous(g.shape))))]
        }
    }

    /// Element-wise power with a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        let x = self
        return map(EK_UNARY_POW, p: p).recorded("PowBackward0", [self]) { g in
            [.dense(Tensor.zipBroadcast(g, x, op: "pow", EK_BINARY_POW_GRAD, p: p))] // g p x^(p-1)
        }
    }

    // MARK: comparisons (results are float 0/1 masks without gradients, as PyTorch's bool tensors)

    /// Element-wise `a == b` as a float mask (1 where equal, else 0), broadcasting; no gradient.
    /// Index tensors compare by value.
    public static func .== (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "==", EK_BINARY_EQ) }
    /// Element-wise `a < b` as a float mask (1 where true, else 0), broadcasting; no gradient.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "<", EK_BINARY_LT) }
    /// Element-wise `a > b` as a float mask (1 where true, else 0), broadcasting; no gradient.
    public static func .> (a: Tensor, b: Tensor) -> Tensor { compare(a, b, ">", EK_BINARY_GT) }

    private static func compare(_ a: Tensor, _ b: Tensor, _ op: String, _ kernel: ek_binary_op) -> Tensor {
        zipBroadcast(a.toFloat(), b.toFloat(), op: op, kernel)
    }

    /// Whether both have the same shape and every element differs by at most `atol + rtol * |other|`.
    public func allClose(_ other: Tensor, rtol: Float = 1e-5, atol: Float = 1e-8) -> Bool {
        shape == other.shape && zip(toFloat().floats, other.toFloat().floats).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
    }
}
