import CKernels
import Foundation
import Testing
@testable import EmbeddingKit

/// Half-precision tables (issue 18, Swift: `Embedding` / `EmbeddingBag` with `storage:`). Expected
/// values come from the float32 modules on the widened table and from roundings written here
/// independently of the C library (Swift's `Float16` conversion for fp16; the nearer of the two
/// bfloat16 neighbours for bf16; the coin of `ek_round_bits` compared in double precision), and from
/// checkpoints PyTorch wrote (Tests/Fixtures/half, make_fixtures.py).
@Suite("Half-precision tables")
struct HalfPrecisionTableTests {
    // MARK: - independent roundings

    /// The two neighbours of `x` in `dtype` (toward zero, away from zero) as float32, or nil when `x`
    /// is one exactly (or not finite).
    static func neighbours(_ x: Float, _ dtype: DType) -> (lo: Float, hi: Float)? {
        guard x.isFinite else { return nil }
        if dtype == .bfloat16 {
            let lo = Float(bitPattern: x.bitPattern & 0xffff_0000)
            if lo == x { return nil }
            return (lo, Float(bitPattern: lo.bitPattern + 0x1_0000))   // the next bf16 away from zero
        }
        let t = Float16(x.magnitude)   // a half next to |x|; then the pair around |x|
        if Float(t) == x.magnitude { return nil }
        let lo = Float(t) < x.magnitude ? t : t.nextDown
        let hi = lo.nextUp
        let s: Float = x < 0 ? -1 : 1
        return (s * Float(lo), s * (hi.isInfinite ? 65536 : Float(hi)))
    }

    /// `x` rounded to the nearest value of `dtype`, ties to even, widened back.
    static func nearest(_ x: Float, _ dtype: DType) -> Float {
        if dtype == .float16 { return Float(Float16(x)) }   // IEEE conversion (the compiler's)
        guard x.isFinite, let (lo, hi) = neighbours(x, dtype) else { return x }
        let dlo = abs(Double(x) - Double(lo)), dhi = abs(Double(hi) - Double(x))
        if dlo != dhi { return dlo < dhi ? lo : hi }
        return (lo.bitPattern >> 16) & 1 == 0 ? lo : hi
    }

    /// Whether `got` is the stochastic rounding of `w` at (seed, step, row, column): one of the two
    /// neighbours, the far one iff ek_round_bits / 2^32 < (|w| - |lo|) / (|hi| - |lo|).
    static func stochasticMatches(_ got: Float, _ w: Float, _ dtype: DType, seed: UInt64, step: Int, row: Int, column: Int) -> Bool {
        guard let (lo, hi) = neighbours(w, dtype) else { return got.bitPattern == w.bitPattern || (got == 0 && w == 0) }
        let p = (Double(w.magnitude) - Double(lo.magnitude)) / (Double(hi.magnitude) - Double(lo.magnitude))
        let u = Double(ek_round_bits(seed, Int64(step), Int64(row), Int64(column))) / 4_294_967_296
        let expected = u < p ? hi : lo
        return got.bitPattern == expected.bitPattern
    }

    static let generator = Generator(seed: 18)

    // MARK: - forward

    @Test("lookups and bags over a half table equal the float32 module on the widened table, bit for bit",
          arguments: [TableStorage.float16, .bfloat16])
    func forwardEqualsWidened(storage: TableStorage) throws {
        let half = try EmbeddingBag(count: 40, dimension: 7, mode: .sum, paddingIndex: 3, storage: storage,
                                    generator: Generator(seed: 1))
        #expect(half.weight.dtype == storage.dtype)
        #expect(half.storage == storage)
        let wide = half.weight.widened()
        #expect(wide.dtype == .float32 && wide.scalars == half.weight.scalars)
        let indices = Tensor(indices: [0, 3, 39, 5, 5, 12, 3, 7, 21, 1, 0, 30])
        let offsets = Tensor(indices: [0, 2, 2, 7])
        let psw = Tensor.randn([12], generator: Generator(seed: 2))
        for mode in [EmbeddingBagMode.sum, .mean, .max] {
            let h = try embeddingBag(indices, half.weight, offsets: offsets, mode: mode,
                                     perSampleWeights: mode == .max ? nil : psw, paddingIndex: 3)
            let f = try embeddingBag(indices, wide, offsets: offsets, mode: mode,
                                     perSampleWeights: mode == .max ? nil : psw, paddingIndex: 3)
            #expect(h.scalars.map(\.bitPattern) == f.scalars.map(\.bitPattern), "mode \(mode)")
        }
        let embed = try Embedding(count: 40, dimension: 7, storage: storage, generator: Generator(seed: 3))
        let h = try embed(Tensor(shape: [3, 4], indices: [0, 1, 2, 39, 7, 7, 8, 9, 10, 11, 12, 13]))
        let f = try embedding(Tensor(shape: [3, 4], indices: [0, 1, 2, 39, 7, 7, 8, 9, 10, 11, 12, 13]), embed.weight.widened())
        #expect(h.shape == [3, 4, 7] && h.scalars.map(\.bitPattern) == f.scalars.map(\.bitPattern))
        // the table is the float32 draw rounded to the nearest half, the padding row zero
        let drawn = try EmbeddingBag(count: 40, dimension: 7, mode: .sum, paddingIndex: 3, generator: Generator(seed: 1))
        #expect(half.weight.scalars == drawn.weight.scalars.map { Self.nearest($0, storage.dtype) })
        #expect(half.weight.scalars[21..<28].allSatisfy { $0 == 0 })
        #expect("\(half.weight)".contains(storage.dtype == .float16 ? "dtype=torch.float16" : "dtype=torch.bfloat16"))
    }

    // MARK: - one optimizer step

    /// The optimizers under test, each built for a parameter list.
    static let optimizers: [(name: String, make: @Sendable ([Tensor]) throws -> any Optimizer)] = [
        ("SGD", { try SGD($0, learningRate: 0.3) }),
        ("SGD momentum, weight decay", { try SGD($0, learningRate: 0.3, momentum: 0.9, weightDecay: 0.01) }),
        ("Adagrad", { try Adagrad($0, learningRate: 0.5, weightDecay: 0.01) }),
        ("Adam", { try Adam($0, learningRate: 0.05) }),
        ("Adam, coupled weight decay", { try Adam($0, learningRate: 0.05, weightDecay: 0.1) }),
        ("AdamW", { try AdamW($0, learningRate: 0.05) }),
        ("SparseAdam", { try SparseAdam($0, learningRate: 0.05) }),
    ]

    /// How the gradient reaches the optimizer: a deferred sparse bag gradient (fused update), a bag's
    /// dense gradient, a lookup's sparse gradient (made entries, coalesced), a lookup's dense one.
    enum Path: CaseIterable { case fusedBag, denseBag, sparseLookup, denseLookup }

    /// `steps` steps on a half module and on a float32 module holding the widened table, with the
    /// same batches; returns both tables after each step, widened (half, f32-after-step-from-half).
    static func stepPair(_ storage: TableStorage, _ path: Path, optimizer: Int, clip: Bool = false)
        throws -> (half: [Float], wideAfter: [Float], before: [Float]) {
        let sparse = path == .fusedBag || path == .sparseLookup
        let isBag = path == .fusedBag || path == .denseBag
        let g = Generator(seed: 7)
        let weight = isBag ? try EmbeddingBag(count: 12, dimension: 6, mode: .mean, sparse: sparse, storage: storage, generator: g).weight
                           : try Embedding(count: 12, dimension: 6, sparse: sparse, storage: storage, generator: g).weight
        let before = weight.scalars
        let wide = weight.widened()
        wide.requiresGrad = true
        let indices = Tensor(indices: [3, 1, 3, 9, 0, 11, 9, 9])
        let offsets = Tensor(indices: [0, 3, 5])
        let coefficients = Tensor.randn([isBag ? 3 : 8, 6], generator: Generator(seed: 8))
        func loss(_ table: Tensor) throws -> Tensor {
            let out = isBag ? try embeddingBag(indices, table, offsets: offsets, mode: .mean, sparse: sparse)
                            : try embedding(indices, table, sparse: sparse)
            return (out * coefficients).sum()
        }
        let (oh, of) = (try optimizers[optimizer].make([weight]), try optimizers[optimizer].make([wide]))
        try loss(weight).backward()
        try loss(wide).backward()
        // plain SGD adds a float32 table's sparse entries one by one, but coalesces a half table's
        // first (one rounding per row): the float32 reference gets the coalesced gradient too
        if optimizer == 0 && sparse { wide.grad = .sparse(wide.grad!.sparse!.coalesced()) }
        if clip {
            try clipGradNorm([weight], maxNorm: 0.5)
            try clipGradNorm([wide], maxNorm: 0.5)
        }
        try oh.step()
        try of.step()
        oh.zeroGrad()
        #expect(weight.grad == nil)
        return (weight.scalars, wide.scalars, before)
    }

    @Test("one step with nearest rounding equals widen, the float32 step, round to nearest (every optimizer and path)",
          arguments: [DType.float16, .bfloat16], Array(0..<7))
    func nearestStep(dtype: DType, optimizer: Int) throws {
        let storage: TableStorage = dtype == .float16 ? .float16(rounding: .nearest) : .bfloat16(rounding: .nearest)
        for path in Path.allCases {
            let (half, wide, before) = try Self.stepPair(storage, path, optimizer: optimizer, clip: path == .denseBag)
            let expected = wide.map { Self.nearest($0, dtype) }
            #expect(half.map(\.bitPattern) == expected.map(\.bitPattern), "\(Self.optimizers[optimizer].name), \(path)")
            #expect(half != before, "\(Self.optimizers[optimizer].name), \(path): the step changed the table")
        }
    }

    @Test("one step with stochastic rounding writes one of the two neighbours, chosen by ek_round_bits' coin",
          arguments: [DType.float16, .bfloat16], Array(0..<7))
    func stochasticStep(dtype: DType, optimizer: Int) throws {
        let seed: UInt64 = 0x5eed
        let storage: TableStorage = dtype == .float16 ? .float16(rounding: .stochastic(seed: seed))
                                                      : .bfloat16(rounding: .stochastic(seed: seed))
        for path in Path.allCases {
            let (half, wide, _) = try Self.stepPair(storage, path, optimizer: optimizer)
            for (i, (got, w)) in zip(half, wide).enumerated() {
                #expect(Self.stochasticMatches(got, w, dtype, seed: seed, step: 1, row: i / 6, column: i % 6),
                        "\(Self.optimizers[optimizer].name), \(path): element \(i) is \(got) for \(w)")
            }
        }
    }

    @Test("stochastic rounding keys its coin by the optimizer's step count: steps 1 and 2 draw differently")
    func stochasticStepsDiffer() throws {
        // the same tiny update twice, below half a bf16 spacing: nearest loses it, stochastic keeps
        // some of it, with coins of step 1 and then of step 2
        let w = Tensor(shape: [1, 64], values: [Float](repeating: 1, count: 64)).converted(to: .bfloat16(rounding: .stochastic(seed: 3)))
        w.requiresGrad = true
        let sgd = try SGD([w], learningRate: 1)
        var previous = w.scalars
        for step in 1...2 {
            w.grad = .dense(Tensor(shape: [1, 64], values: [Float](repeating: -1e-3, count: 64)))
            try sgd.step()
            let now = w.scalars
            for d in 0..<64 {
                #expect(Self.stochasticMatches(now[d], previous[d] + 1e-3, .bfloat16, seed: 3, step: step, row: 0, column: d))
            }
            #expect(now.contains { $0 != previous[0] })   // some of the update survived (nearest loses all)
            previous = now
        }
        #expect(sgd.stepCount == 2)
        #expect(sgd.stateDict().metadata["step"] == "2")
    }

    // MARK: - threads

    @Test("bf16 training with stochastic rounding is bit-identical for 1 and 2 threads")
    func threadCountIndependent() throws {
        func train(threads: Int) throws -> [UInt32] {
            let saved = numThreads()
            try setNumThreads(threads)
            defer { try? setNumThreads(saved) }
            let bag = try EmbeddingBag(count: 3000, dimension: 32, mode: .sum, sparse: true, storage: .bfloat16,
                                       generator: Generator(seed: 5))
            let dense = try Embedding(count: 3000, dimension: 32, storage: .float16(rounding: .stochastic(seed: 9)),
                                      generator: Generator(seed: 6))
            let adam = try Adam([bag.weight], learningRate: 0.01)
            let sgd = try SGD([dense.weight], learningRate: 0.1, momentum: 0.5)
            let offsets: [Int64] = (0..<512).map { Int64($0 * 16) }
            for step in 0..<3 {
                let idx = Tensor.randint(0, 3000, [8192], generator: Generator(seed: UInt64(10 + step)))
                let firstIndices: [Int64] = Array(idx.indices.prefix(2048))
                let out = try bag(idx, offsets: Tensor(shape: [512], indices: offsets))
                let looked = try dense(Tensor(shape: [2048], indices: firstIndices))
                (out.sum() + (looked * looked).sum()).backward()
                try adam.step()
                try sgd.step()
                adam.zeroGrad()
                sgd.zeroGrad()
            }
            return (bag.weight.scalars + dense.weight.scalars).map(\.bitPattern)
        }
        #expect(try train(threads: 1) == train(threads: 2))
    }

    // MARK: - checkpoints

    struct Fixture: Decodable { let bf16: [UInt32], f16: [UInt32], bf16_source: [UInt32], f16_source: [UInt32] }
    static let fixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/half").standardized.path
    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: fixtureDir + "/bag_half.json")))
    }
    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "ek-half-\(ProcessInfo.processInfo.processIdentifier)-\(name).safetensors"
    }

    @Test("a PyTorch bf16 / fp16 checkpoint loads into a half module as it is, and saves back byte for byte",
          arguments: [(DType.bfloat16, "bf16"), (.float16, "f16")])
    func pytorchCheckpoint(dtype: DType, stem: String) throws {
        let f = try Self.fixture()
        let path = Self.fixtureDir + "/bag_\(stem).safetensors"
        let bag = try EmbeddingBag(count: 6, dimension: 5, mode: .sum, storage: dtype == .float16 ? .float16 : .bfloat16)
        try bag.load(from: path)
        let expected = dtype == .float16 ? f.f16 : f.bf16
        #expect(bag.weight.scalars.map(\.bitPattern) == expected)
        let out = Self.temporaryPath("pt-\(stem)")
        defer { unlink(out) }
        try bag.save(to: out)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: path)))
        // the file keeps its dtype; a float32 module loads it widened exactly
        #expect(try SafeTensors(contentsOf: out).storedDTypes["weight"] == (dtype == .float16 ? .float16 : .bfloat16))
        let wide = try EmbeddingBag(count: 6, dimension: 5, mode: .sum)
        try wide.load(from: path)
        #expect(wide.weight.scalars.map(\.bitPattern) == expected)
        // PyTorch's float32 source, loaded into a half module, rounds to nearest as PyTorch's .to() did
        let source = dtype == .float16 ? f.f16_source : f.bf16_source
        let f32 = Tensor(shape: [6, 5], values: source.map { Float(bitPattern: $0) })
        let rounded = try EmbeddingBag(count: 6, dimension: 5, mode: .sum, storage: dtype == .float16 ? .float16 : .bfloat16)
        try rounded.loadStateDict(["weight": f32])
        #expect(rounded.weight.scalars.map(\.bitPattern) == expected)
        #expect(f32.scalars.map { Self.nearest($0, dtype).bitPattern } == expected)   // the independent rounding agrees
    }

    @Test("save / load round trip of a trained half module, and an f32 file into a half module rounds to nearest")
    func roundTrip() throws {
        let bag = try EmbeddingBag(count: 50, dimension: 8, mode: .sum, sparse: true, storage: .bfloat16, generator: Generator(seed: 4))
        let sgd = try SGD([bag.weight], learningRate: 0.1)
        try bag(Tensor(indices: [1, 2, 3, 4]), offsets: Tensor(indices: [0, 2])).sum().backward()
        try sgd.step()
        let path = Self.temporaryPath("trip")
        defer { unlink(path) }
        try bag.save(to: path)
        let copy = try EmbeddingBag(count: 50, dimension: 8, mode: .sum, storage: .bfloat16, generator: Generator(seed: 99))
        try copy.load(from: path)
        #expect(copy.weight.scalars.map(\.bitPattern) == bag.weight.scalars.map(\.bitPattern))
        #expect(try SafeTensors(contentsOf: path).storedDTypes["weight"] == .bfloat16)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count < 50 * 8 * 4)   // 2 bytes per element
        let f32 = try EmbeddingBag(count: 50, dimension: 8, mode: .sum, generator: Generator(seed: 4))
        try f32.save(to: path)
        try copy.load(from: path)
        #expect(copy.weight.scalars == f32.weight.scalars.map { Self.nearest($0, .bfloat16) })
        #expect(copy.weight.dtype == .bfloat16)
    }

    // MARK: - bad inputs

    @Test("maxNorm, per-sample-weight gradients and int64 state on a half table throw, changing nothing")
    func badInputs() throws {
        #expect(throws: EmbeddingKitError.self) { try Embedding(count: 4, dimension: 2, maxNorm: 1, storage: .bfloat16) }
        #expect(throws: EmbeddingKitError.self) { try EmbeddingBag(count: 4, dimension: 2, maxNorm: 1, storage: .float16) }
        let bag = try EmbeddingBag(count: 4, dimension: 2, mode: .sum, storage: .bfloat16)
        let before = bag.weight.scalars
        #expect(throws: EmbeddingKitError(.invalidArgument,
                                          "embedding: maxNorm=1.0 needs a float32 table, but weight is bfloat16 (the renormalisation rescales float32 rows only)")) {
            try embedding(Tensor(indices: [0]), bag.weight, maxNorm: 1)
        }
        let psw = Tensor([1.0, 2.0])
        psw.requiresGrad = true
        #expect(throws: EmbeddingKitError.self) {
            try bag(Tensor(indices: [0, 1]), offsets: Tensor(indices: [0]), perSampleWeights: psw)
        }
        // without a gradient for them, per-sample weights are fine
        psw.requiresGrad = false
        _ = try bag(Tensor(indices: [0, 1]), offsets: Tensor(indices: [0]), perSampleWeights: psw)
        #expect(throws: EmbeddingKitError.self) { try bag.loadStateDict(["weight": Tensor(shape: [4, 2], indices: [0, 1, 2, 3, 4, 5, 6, 7])]) }
        #expect(throws: EmbeddingKitError.self) { try bag.loadStateDict(["weight": Tensor.randn([4, 3])]) }
        #expect(throws: EmbeddingKitError.self) { try bag(Tensor(indices: [0, 4]), offsets: Tensor(indices: [0])) }
        #expect(bag.weight.scalars == before)
    }
}
