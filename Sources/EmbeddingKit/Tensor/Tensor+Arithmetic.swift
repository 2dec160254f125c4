import Foundation

/// Element-wise arithmetic with broadcasting, differentiable.
extension Tensor {
    /// Applies `f` element-wise over the broadcast of `a` and `b` (float tensors).
    static func zipBroadcast(_ a: Tensor, _ b: Tensor, op: String, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(a.dtype == .float32 && b.dtype == .float32, "\(op): needs float tensors, got \(a.dtype) and \(b.dtype)")
        if a.shape == b.shape {
            return Tensor(shape: a.shape, floats: zip(a.floats, b.floats).map(f))
        }
        let out = Broadcast.shape(a.shape, b.shape, op: op)
        let ia = Broadcast.offsets(of: a.shape, in: out), ib = Broadcast.offsets(of: b.shape, in: out)
        return Tensor(shape: out, floats: (0..<out.reduce(1, *)).map { f(a.floats[ia[$0]], b.floats[ib[$0]]) })
    }

    /// Applies `f` to every element of a float tensor.
    func map(_ f: (Float) -> Float) -> Tensor {
        precondition(dtype == .float32, "map: needs a float tensor")
        return Tensor(shape: shape, floats: floats.map(f))
    }

    /// Element-wise `a + b`, broadcasting the shapes (float tensors).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "+", +).recorded("AddBackward0", [a, b]) { g in
            [.dense(g.sumTo(a.shape)), .dense(g.sumTo(b.shape))]
        }
    }

    /// Element-wise `a - b`, broadcasting the shapes (float tensors).
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "-", -).recorded("SubBackward0", [a, b]) { g in
            [.dense(g.sumTo(a.shape)), .dense(g.map { -$0 }.sumTo(b.shape))]
        }
    }

    /// Element-wise `a * b` (not the matrix product: see `matmul`), broadcasting the shapes (float tensors).
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "*", *).recorded("MulBackward0", [a, b]) { g in
            [.dense(zipBroadcast(g, b, op: "*", *).sumTo(a.shape)), .dense(zipBroadcast(g, a, op: "*", *).sumTo(b.shape))]
        }
    }

    /// Element-wise `a / b`, broadcasting the shapes (float tensors).
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        zipBroadcast(a, b, op: "/", /).recorded("DivBackward0", [a, b]) { g in
            let ga = zipBroadcast(g, b, op: "/", /)
            let gb = zipBroadcast(zipBroadcast(g, a, op: "*", *), b, op: "/") { x, y in -x / (y * y) }
            return [.dense(ga.sumTo(a.shape)), .dense(gb.sumTo(b.shape))]
        }
    }

    /// Element-wise negation.
    public static prefix func - (a: Tensor) -> Tensor {
        a.map { -$0 }.recorded("NegBackward0", [a]) { g in [.dense(g.map { -$0 })] }
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
        let y = map { $0.squareRoot() }
        let roots = y.floats // the values, not the tensor: the tensor owns this closure (no cycle)
        return y.recorded("SqrtBackward0", [self]) { g in
            [.dense(Tensor(shape: g.shape, floats: zip(g.floats, roots).map { $0 / (2 * $1) }))]
        }
    }

    /// Element-wise power with a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        let x = self
        return map { Float(Foundation.pow(Double($0), Double(p))) }.recorded("PowBackward0", [self]) { g in
            [.dense(Tensor.zipBroadcast(g, x, op: "pow") { gv, xv in gv * p * Float(Foundation.pow(Double(xv), Double(p - 1))) })]
        }
    }

    // MARK: comparisons (results are float 0/1 masks without gradients, as PyTorch's bool tensors)

    /// Element-wise `a == b` as a float mask (1 where equal, else 0), broadcasting; no gradient.
    /// Index tensors compare by value.
    public static func .== (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "==", ==) }
    /// Element-wise `a < b` as a float mask (1 where true, else 0), broadcasting; no gradient.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { compare(a, b, "<", <) }
    /// Element-wise `a > b` as a float mask (1 where true, else 0), broadcasting; no gradient.
    public static func .> (a: Tensor, b: Tensor) -> Tensor { compare(a, b, ">", >) }

    private static func compare(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Float, Float) -> Bool) -> Tensor {
        zipBroadcast(a.toFloat(), b.toFloat(), op: op) { f($0, $1) ? 1 : 0 }
    }

    /// Whether both have the same shape and every element differs by at most `atol + rtol * |other|`.
    public func allClose(_ other: Tensor, rtol: Float = 1e-5, atol: Float = 1e-8) -> Bool {
        shape == other.shape && zip(toFloat().floats, other.toFloat().floats).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
    }
}
