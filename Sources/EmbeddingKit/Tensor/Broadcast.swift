import CKernels

/// NumPy / PyTorch broadcasting: shapes align at the right; a dimension of 1 stretches.
enum Broadcast {
    /// The broadcast shape of `a` and `b`, or a precondition failure naming `op`.
    static func shape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { x, y in
            precondition(x == y || x == 1 || y == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            return x == 1 ? y : x   // not max: a 0-sized dimension against 1 stays 0 (an empty batch)
        }
    }

    /// The element strides with which a contiguous tensor of `shape` is read over the broadcast
    /// shape `out`: row-major strides, 0 along the dimensions it stretches (or lacks).
    static func strides(of shape: [Int], in out: [Int]) -> [Int64] {
        let lead = out.count - shape.count
        var strides = [Int64](repeating: 0, count: out.count), s: Int64 = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[lead + d] = shape[d] == 1 ? 0 : s
            s *= Int64(shape[d])
        }
        return strides
    }

    /// Row-major element strides of a contiguous tensor of `shape`.
    static func contiguous(_ shape: [Int]) -> [Int64] {
        var strides = [Int64](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * Int64(shape[d + 1]) }
        return strides
    }
}

/// The Swift side of section 11 of embeddingkit.h: every element loop of the tensor layer is one
/// of these calls (Package.swift: every loop over data lives in C).
enum TensorKernels {
    /// `op(a, b)` over the broadcast `shape`, a and b read through their strides; a new contiguous result.
    static func binary(_ op: ek_binary_op, _ shape: [Int], _ a: FloatStorage, _ aStrides: [Int64],
                       _ b: FloatStorage, _ bStrides: [Int64], p: Float = 0) -> FloatStorage {
        let dims = shape.map(Int64.init), outStrides = Broadcast.contiguous(shape)
        let n = shape.reduce(1, *)
        var out = FloatStorage.uninitialized(count: n)
        a.withPointer { pa in
            b.withPointer { pb in
                out.withMutablePointer { po in
                    mustSucceed(ek_binary_f32(op, Int64(dims.count), dims, pa, Int64(a.count), aStrides, pb, Int64(b.count),
                                              bStrides, p, po, Int64(n), outStrides), "binary")
                }
            }
        }
        return out
    }

    /// `m[r, :] += v` for each row of the row-major `rows x v.count` matrix `m`, in place.
    static func addRowVector(_ v: FloatStorage, to m: inout FloatStorage, rows: Int) {
        let dims: [Int64] = [Int64(rows), Int64(v.count)], ms: [Int64] = [Int64(v.count), 1], vs: [Int64] = [0, 1]
        let n = Int64(m.count)
        v.withPointer { pv in
            m.withMutablePointer { pm in
                mustSucceed(ek_binary_f32(EK_BINARY_ADD, 2, dims, pm, n, ms, pv, Int64(v.count), vs, 0, pm, n, ms), "addRowVector")
            }
        }
    }

    /// `op(x[i])` for every element.
    static func unary(_ op: ek_unary_op, _ x: FloatStorage, p: Float = 0) -> FloatStorage {
        var y = FloatStorage.uninitialized(count: x.count)
        x.withPointer { px in y.withMutablePointer { py in mustSucceed(ek_unary_f32(op, Int64(x.count), px, p, py), "unary") } }
        return y
    }

    /// `x` viewed as `[outer, n, inner]`, summed over `n` in order: `[outer, inner]`.
    static func sumDim(_ x: FloatStorage, outer: Int, n: Int, inner: Int) -> FloatStorage {
        var y = FloatStorage.uninitialized(count: outer * inner)
        x.withPointer { px in
            y.withMutablePointer { py in mustSucceed(ek_sum_dim_f32(Int64(outer), Int64(n), Int64(inner), px, py), "sumDim") }
        }
        return y
    }

    /// Copies `count` elements of `src`, read through `srcStrides` over `shape`, into a contiguous result
    /// (or, with `dst`, through `dstStrides` at `dstOffset` into it).
    static func copy<T>(_ shape: [Int], from src: UnsafeBufferPointer<T>, srcOffset offset: Int = 0, srcStrides: [Int64],
                        into dst: UnsafeMutableBufferPointer<T>, dstOffset: Int = 0, dstStrides: [Int64]) {
        guard shape.allSatisfy({ $0 > 0 }) else { return } // nothing to copy (offsets may lie past an empty buffer)
        let dims = shape.map(Int64.init)
        let s = src.baseAddress.map { UnsafeRawPointer($0 + offset) }, d = dst.baseAddress.map { UnsafeMutableRawPointer($0 + dstOffset) }
        mustSucceed(ek_strided_copy(Int64(MemoryLayout<T>.stride), Int64(dims.count), dims, s, Int64(src.count - offset),
                                    srcStrides, d, Int64(dst.count - dstOffset), dstStrides), "stridedCopy")
    }

    /// The elements of `t` read through `strides` (from `offset`) over `shape`, as a new contiguous tensor
    /// of t's dtype.
    static func gather(_ t: Tensor, _ shape: [Int], offset: Int = 0, strides: [Int64]) -> Tensor {
        let n = shape.reduce(1, *), contiguous = Broadcast.contiguous(shape)
        if t.dtype == .float32 {
            var out = FloatStorage.uninitialized(count: n)
            t.floats.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in copy(shape, from: src, srcOffset: offset, srcStrides: strides, into: dst, dstStrides: contiguous) }
            }
            return Tensor(shape: shape, floats: out)
        }
        var out = [Int64](repeating: 0, count: n)
        t.ints.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in copy(shape, from: src, srcOffset: offset, srcStrides: strides, into: dst, dstStrides: contiguous) }
        }
        return Tensor(shape: shape, ints: out)
    }

    /// The rows `rows` (int64, each in range) of the 2-D float `table`, `[rows.count, width]`, gathered
    /// by ek_lookup_forward without gradient (no rows, or a table of width 0, give an empty result).
    static func gatherRows(_ rows: Tensor, of table: Tensor) -> Tensor {
        if rows.count == 0 || table.shape[1] == 0 { return .zeros([rows.count, table.shape[1]]) }
        return withoutGradients { try! embedding(rows, table) }
    }

    /// Zeros of `count` elements with `g` (contiguous, of `shape`) written through `strides` from `offset`:
    /// the gradient of a slice.
    static func scatter(_ g: FloatStorage, _ shape: [Int], count: Int, offset: Int = 0, strides: [Int64]) -> FloatStorage {
        var full = FloatStorage(repeating: 0, count: count)
        g.withUnsafeBufferPointer { src in
            full.withUnsafeMutableBufferPointer { dst in
                copy(shape, from: src, srcStrides: Broadcast.contiguous(shape), into: dst, dstOffset: offset, dstStrides: strides)
            }
        }
        return full
    }
}

extension Tensor {
    /// Sums `self` down to `shape` (undoing a broadcast): the gradient rule of every broadcasting op.
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        if count == 0 { return .zeros(target) }
        let dims = shape.map(Int64.init), strides = Broadcast.strides(of: target, in: shape)
        let n = target.reduce(1, *)
        var out = FloatStorage.uninitialized(count: n)
        floats.withPointer { px in
            out.withMutablePointer { py in
                mustSucceed(ek_sum_to_f32(Int64(dims.count), dims, px, py, Int64(n), strides), "sumTo")
            }
        }
        return Tensor(shape: target, floats: out)
    }
}
