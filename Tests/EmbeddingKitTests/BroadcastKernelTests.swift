import Testing
@testable import EmbeddingKit

/// The tensor layer's element loops now run in C (section 11 of embeddingkit.h). These check the
/// broadcast cases against values worked out by hand (PyTorch's semantics), and the kernels against
/// the Swift loops they replaced, bit for bit.
@Suite("Broadcast kernels")
struct BroadcastKernelTests {
    /// The former Swift path: per-element offset tables (the reference the kernels must equal).
    static func offsets(of shape: [Int], in out: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        var strides = [Int](repeating: 0, count: out.count), s = 1
        for d in stride(from: out.count - 1, through: 0, by: -1) {
            strides[d] = padded[d] == 1 ? 0 : s
            s *= padded[d]
        }
        return (0..<out.reduce(1, *)).map { i in
            var rest = i, off = 0
            for d in stride(from: out.count - 1, through: 0, by: -1) {
                off += (rest % out[d]) * strides[d]
                rest /= out[d]
            }
            return off
        }
    }

    static func random(_ shape: [Int], _ rng: inout SystemRandomNumberGenerator) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -2...2, using: &rng) })
    }

    @Test("a scalar operand: x * 0.5, 0.5 * x, x + s, x / s, and its gradient is a sum")
    func scalar() {
        let x = Tensor([[1.0, -2], [3, 4]])
        #expect((x * 0.5).scalars == [0.5, -1, 1.5, 2])
        #expect((0.5 * x).scalars == [0.5, -1, 1.5, 2])
        #expect((x + 1).scalars == [2, -1, 4, 5])
        #expect((x - 1).scalars == [0, -3, 2, 3])
        #expect((x / 4).scalars == [0.25, -0.5, 0.75, 1])
        let s = Tensor(scalar: 3)
        s.requiresGrad = true
        (x * s).sum().backward()
        guard case .dense(let g) = s.grad else { Issue.record("no gradient"); return }
        #expect(g.shape == [] && g.scalars == [6])
    }

    @Test("same shapes, and the comparisons")
    func sameShape() {
        let a = Tensor([1.0, 2, 3]), b = Tensor([3.0, 2, 1])
        #expect((a + b).scalars == [4, 4, 4])
        #expect((a - b).scalars == [-2, 0, 2])
        #expect((a * b).scalars == [3, 4, 3])
        #expect((a / b).scalars == [Float(1) / 3, 1, 3])
        #expect((a .== b).scalars == [0, 1, 0])
        #expect((a .< b).scalars == [1, 0, 0])
        #expect((a .> b).scalars == [0, 0, 1])
        #expect((Tensor(indices: [1, 5]) .== Tensor(indices: [1, 4])).scalars == [1, 0])
    }

    @Test("[3, 1] x [1, 4]: the outer product, gradients summed over the broadcast dims")
    func outer() {
        let a = Tensor([[1.0], [2], [3]]), b = Tensor([[10.0, 20, 30, 40]])
        a.requiresGrad = true
        b.requiresGrad = true
        let y = a * b
        #expect(y.shape == [3, 4])
        #expect(y.scalars == [10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120])
        y.sum().backward()
        guard case .dense(let ga) = a.grad, case .dense(let gb) = b.grad else { Issue.record("no gradient"); return }
        #expect(ga.shape == [3, 1] && ga.scalars == [100, 100, 100])   // Σ_j b[j]
        #expect(gb.shape == [1, 4] && gb.scalars == [6, 6, 6, 6])       // Σ_i a[i]
        let d = Tensor([[1.0], [2], [4]]) / Tensor([[1.0, 2]])
        #expect(d.scalars == [1, 0.5, 2, 1, 4, 2])
    }

    @Test("rank mismatch: [2, 3, 4] with [4] and with [3, 1]")
    func rankMismatch() {
        let x = Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        let v = Tensor([1.0, 2, 3, 4]), c = Tensor([[100.0], [200], [300]])
        v.requiresGrad = true
        c.requiresGrad = true
        let y = x + v - c
        #expect(y.shape == [2, 3, 4])
        #expect(Array(y.scalars.prefix(5)) == [-99, -97, -95, -93, -195])
        #expect(y.scalars[23] == 23 + 4 - 300)
        y.sum().backward()
        guard case .dense(let gv) = v.grad, case .dense(let gc) = c.grad else { Issue.record("no gradient"); return }
        #expect(gv.shape == [4] && gv.scalars == [6, 6, 6, 6])
        #expect(gc.shape == [3, 1] && gc.scalars == [-8, -8, -8])
    }

    @Test("empty dimensions give empty results and zero gradients")
    func empty() {
        let a = Tensor.zeros([0, 4]), b = Tensor([[1.0, 2, 3, 4]])
        b.requiresGrad = true
        let y = a * b
        #expect(y.shape == [0, 4] && y.scalars.isEmpty)
        y.sum().backward()
        guard case .dense(let gb) = b.grad else { Issue.record("no gradient"); return }
        #expect(gb.shape == [1, 4] && gb.scalars == [0, 0, 0, 0])
        #expect((Tensor.zeros([2, 0]) + Tensor.zeros([2, 1])).shape == [2, 0])
        #expect((Tensor.zeros([3, 0]) * 2).shape == [3, 0])
        #expect(Tensor.zeros([0, 3]).sum(dim: 0).scalars == [0, 0, 0])
        #expect(Tensor.zeros([0, 3]).sum().scalars == [0])
        #expect(Tensor.zeros([2, 0, 3]).narrow(1, start: 0, length: 0).shape == [2, 0, 3])
        #expect(Tensor.cat([Tensor.zeros([0, 2]), Tensor([[1.0, 2]])]).scalars == [1, 2])
    }

    @Test("the kernels equal the former Swift loops bit for bit")
    func bitIdentical() {
        var rng = SystemRandomNumberGenerator()
        let shapes: [([Int], [Int])] = [([5, 7], [7]), ([5, 7], [5, 1]), ([2, 3, 4], [3, 1]), ([1], [6, 1, 3]),
                                         ([4, 1, 6], [1, 5, 1]), ([300, 129], [129]), ([], [3, 2])]
        for (sa, sb) in shapes {
            let a = Self.random(sa, &rng), b = Self.random(sb, &rng)
            let out = Broadcast.shape(sa, sb, op: "test")
            let ia = Self.offsets(of: sa, in: out), ib = Self.offsets(of: sb, in: out)
            let av = a.scalars, bv = b.scalars
            let fs: [(Tensor, (Float, Float) -> Float)] = [(a + b, +), (a - b, -), (a * b, *), (a / b, /)]
            for (got, f) in fs {
                let want = (0..<out.reduce(1, *)).map { f(av[ia[$0]], bv[ib[$0]]) }
                #expect(got.scalars.map(\.bitPattern) == want.map(\.bitPattern), "\(sa) \(sb)")
            }
            // sumTo: out[map[i]] += g[i] in order
            let g = Self.random(out, &rng), gv = g.scalars
            for target in [sa, sb] {
                var want = [Float](repeating: 0, count: target.reduce(1, *))
                for (i, o) in Self.offsets(of: target, in: out).enumerated() { want[o] += gv[i] }
                #expect(g.sumTo(target).scalars.map(\.bitPattern) == want.map(\.bitPattern), "sumTo \(out) -> \(target)")
            }
        }
        // sum over a dimension, the sum of all elements, max with its index
        let x = Self.random([6, 50, 9], &rng), xv = x.scalars
        for d in 0..<3 {
            let outer = x.shape[..<d].reduce(1, *), n = x.shape[d], inner = x.shape[(d + 1)...].reduce(1, *)
            var sums = [Float](repeating: 0, count: outer * inner)
            for o in 0..<outer { for k in 0..<n { for i in 0..<inner { sums[o * inner + i] += xv[(o * n + k) * inner + i] } } }
            #expect(x.sum(dim: d).scalars.map(\.bitPattern) == sums.map(\.bitPattern))
            let m = x.max(dim: d)
            for o in 0..<outer {
                for i in 0..<inner {
                    let column = (0..<n).map { xv[(o * n + $0) * inner + i] }
                    let k = column.firstIndex(of: column.max()!)!
                    #expect(m.indices.indices[o * inner + i] == Int64(k) && m.values.scalars[o * inner + i] == column[k])
                }
            }
        }
        #expect(x.sum().item.bitPattern == xv.reduce(0, +).bitPattern)
    }

    @Test("permute, cat, narrow and select move the right elements; gradients flow back")
    func shapes() {
        let x = Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        x.requiresGrad = true
        let p = x.permute([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(Array(p.scalars.prefix(7)) == [0, 4, 8, 12, 16, 20, 1])
        let n = x.narrow(2, start: 1, length: 2)
        #expect(n.scalars == [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        let c = Tensor.cat([x, x.narrow(1, start: 0, length: 1)], dim: 1)
        #expect(c.shape == [2, 4, 4] && Array(c.scalars[12..<16]) == [0, 1, 2, 3] && Array(c.scalars[28..<32]) == [12, 13, 14, 15])
        (p.sum() + n.sum() * 2 + x[1].sum() + c.sum()).backward()
        guard case .dense(let g) = x.grad else { Issue.record("no gradient"); return }
        // 1 (permute) + 2 on the narrowed columns + 1 on x[1] + 1 (cat) + 1 more on row 0 of dim 1
        #expect(g.scalars[0] == 1 + 0 + 0 + 1 + 1)
        #expect(g.scalars[1] == 1 + 2 + 0 + 1 + 1)
        #expect(g.scalars[13] == 1 + 2 + 1 + 1 + 1)
        #expect(g.scalars[23] == 1 + 0 + 1 + 1)
        let i = Tensor(indices: [[1, 2, 3], [4, 5, 6]])
        #expect(i.transpose(0, 1).indices == [1, 4, 2, 5, 3, 6])
        #expect(Tensor.cat([i, i], dim: 1).indices == [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        #expect(i[1].indices == [4, 5, 6] && i.narrow(1, start: 2, length: 1).indices == [3, 6])
    }
}
