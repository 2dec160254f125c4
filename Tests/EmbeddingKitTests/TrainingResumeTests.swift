import Foundation
import Testing
@testable import EmbeddingKit

/// Issue 17: ragged batches (`BagDataLoader`), optimizer state saved and restored (bit-for-bit
/// resumption), learning-rate schedules against PyTorch's closed forms.
@Suite("Bag batches, optimizer state, schedules")
struct TrainingResumeTests {
    static let bags: [[Int]] = (0..<23).map { i in (0..<(1 + i % 5)).map { ($0 * 7 + i * 3) % 40 } }
    static var labels: Tensor { Tensor(indices: (0..<23).map { $0 % 3 }) }

    @Test("collate: indices, offsets and per-sample weights of variable-length bags")
    func collate() throws {
        let b = try BagBatch.collate([[3, 6, 1], [], [2], [7, 7]], weights: [[1, 2, 3], [], [4], [5, 6]])
        #expect(b.indices.indices == [3, 6, 1, 2, 7, 7])
        #expect(b.offsets.indices == [0, 3, 3, 4])
        #expect(b.perSampleWeights?.scalars == [1, 2, 3, 4, 5, 6])
        #expect(b.count == 4)
        #expect(throws: EmbeddingKitError.self) { try BagBatch.collate([[1, 2]], weights: [[1]]) }
        #expect(throws: EmbeddingKitError.self) { try BagBatch.collate([[1, 2]], weights: []) }
        let bag = try EmbeddingBag(count: 10, dimension: 2, mode: .sum)
        let out = try bag(b.indices, offsets: b.offsets, perSampleWeights: b.perSampleWeights)
        #expect(out.shape == [4, 2])
    }

    @Test("BagDataLoader: batch sizes, dropLast, seeded shuffling, targets follow their bags")
    func loader() throws {
        let plain = Array(try BagDataLoader(bags: Self.bags, targets: Self.labels, batchSize: 5))
        #expect(plain.map(\.count) == [5, 5, 5, 5, 3])
        #expect(plain[0].offsets.indices == [0, 1, 3, 6, 10])
        #expect(plain[1].targets?.indices == [2, 0, 1, 2, 0])
        #expect(try BagDataLoader(bags: Self.bags, batchSize: 5, dropLast: true).count == 4)
        #expect(Array(try BagDataLoader(bags: Self.bags, batchSize: 5, dropLast: true)).count == 4)
        let a = Array(try BagDataLoader(bags: Self.bags, targets: Self.labels, batchSize: 4, shuffle: true, generator: Generator(seed: 9)))
        let b = Array(try BagDataLoader(bags: Self.bags, targets: Self.labels, batchSize: 4, shuffle: true, generator: Generator(seed: 9)))
        #expect(a.map(\.indices.indices) == b.map(\.indices.indices))
        #expect(a.map(\.indices.indices) != plain.map(\.indices.indices))
        // every sample once, its label with it
        var seen = [[Int]: Int64]()
        for batch in a {
            let ids = batch.indices.indices.map(Int.init), offsets = batch.offsets.indices.map(Int.init) + [ids.count]
            for k in 0..<batch.count { seen[Array(ids[offsets[k]..<offsets[k + 1]])] = batch.targets!.indices[k] }
        }
        for (i, bag) in Self.bags.enumerated() { #expect(seen[bag] == Int64(i % 3)) }
        #expect(throws: EmbeddingKitError.self) { try BagDataLoader(bags: Self.bags, batchSize: 0) }
        #expect(throws: EmbeddingKitError.self) { try BagDataLoader(bags: Self.bags, targets: Tensor(indices: [1, 2])) }
        #expect(throws: EmbeddingKitError.self) { try BagDataLoader(bags: [[1, 2]], weights: [[1]]) }
    }

    /// A sparse bag (fused bag path) under a dense linear head.
    final class Classifier: Module {
        let bag: EmbeddingBag, head: Linear
        var isTraining = true
        init(seed: UInt64) throws {
            let g = Generator(seed: seed)
            bag = try EmbeddingBag(count: 40, dimension: 6, mode: .sum, sparse: true, generator: g)
            head = try Linear(6, 3, generator: g)
        }
        var directParameters: [(name: String, tensor: Tensor)] { [] }
        var children: [(name: String, module: any Module)] { [("bag", bag), ("head", head)] }
    }

    static var optimizers: [(String, ([Tensor]) throws -> any Optimizer)] { [
        ("SGD-momentum", { try SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01) }),
        ("SGD-nesterov", { try SGD($0, learningRate: 0.1, momentum: 0.5, nesterov: true) }),
        ("Adagrad", { try Adagrad($0, learningRate: 0.3, learningRateDecay: 0.01) }),
        ("Adam", { try Adam($0, learningRate: 0.05, weightDecay: 0.01) }),
        ("AdamW", { try AdamW($0, learningRate: 0.05) }),
        ("SparseAdam", { try SparseAdam($0, learningRate: 0.05) }),
    ] }

    static func train(_ model: Classifier, _ optimizer: any Optimizer, _ scheduler: LearningRateScheduler,
                      _ batches: ArraySlice<BagBatch>) throws {
        for batch in batches {
            optimizer.zeroGrad()
            let logits = model.head(try model.bag(batch.indices, offsets: batch.offsets, perSampleWeights: batch.perSampleWeights))
            try crossEntropy(logits, batch.targets!).backward()
            try optimizer.step()
            scheduler.step()
        }
    }

    @Test("train 2N steps == train N, save, load into fresh objects, train N: bit for bit", arguments: 0..<6)
    func resumeIsExact(_ which: Int) throws {
        let (name, make) = Self.optimizers[which]
        let weights = Self.bags.map { $0.map { Float($0 % 4) * 0.25 + 0.5 } }
        let loader = try BagDataLoader(bags: Self.bags, weights: weights, targets: Self.labels, batchSize: 4, shuffle: true,
                                       generator: Generator(seed: 1))
        let batches = Array(loader) + Array(loader)   // two epochs, reshuffled
        let n = batches.count / 2
        let schedule = try LinearLR(startFactor: 0.5, totalIters: 3).then(try CosineAnnealingLR(tMax: 10), at: 3)
        let params: (Classifier) -> [Tensor] = { name == "SparseAdam" ? $0.bag.parameters() : $0.parameters() }

        let straight = try Classifier(seed: 7)
        let o1 = try make(params(straight))
        try Self.train(straight, o1, LearningRateScheduler(o1, schedule: schedule), batches[...])

        let first = try Classifier(seed: 7)
        let o2 = try make(params(first))
        let s2 = LearningRateScheduler(o2, schedule: schedule)
        try Self.train(first, o2, s2, batches[..<n])
        let dir = NSTemporaryDirectory() + "ek-resume-\(getpid())-\(which)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try first.save(to: dir + "/model.safetensors")
        try o2.save(to: dir + "/optimizer.safetensors")

        let resumed = try Classifier(seed: 99)
        let o3 = try make(params(resumed))
        try resumed.load(from: dir + "/model.safetensors")
        try o3.load(from: dir + "/optimizer.safetensors")
        let base = try make(params(resumed)).learningRate   // the rate the run started from
        try Self.train(resumed, o3, LearningRateScheduler(o3, schedule: schedule, baseLearningRate: base, epoch: s2.epoch),
                       batches[n...])
        for ((key, a), (_, b)) in zip(straight.namedParameters(), resumed.namedParameters()) {
            #expect(a.scalars == b.scalars, "\(name): \(key) differs after resuming")
        }
        #expect(o1.learningRate == o3.learningRate)
    }

    @Test("optimizer state: PyTorch's key layout, refused when it does not fit")
    func stateLayout() throws {
        let model = try Classifier(seed: 3)
        let adam = try Adam(model.parameters(), learningRate: 0.01)
        let batch = try BagBatch.collate([[1, 2], [3]], targets: Tensor(indices: [0, 2]))
        try crossEntropy(model.head(try model.bag(batch.indices, offsets: batch.offsets)), batch.targets!).backward()
        try adam.step()
        let state = adam.stateDict()
        #expect(Set(state.tensors.keys) == ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step",
                                            "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.step",
                                            "state.2.exp_avg", "state.2.exp_avg_sq", "state.2.step"])
        #expect(state.tensors["state.0.exp_avg"]?.shape == [40, 6])
        #expect(state.tensors["state.1.step"]?.item == 1)
        #expect(state.metadata["optimizer"] == "Adam" && state.metadata["param_groups.0.lr"] == "0.01")
        let sgd = try SGD(model.parameters(), learningRate: 0.1, momentum: 0.9)
        #expect(throws: EmbeddingKitError.self) { try sgd.loadStateDict(state) }
        let otherBetas = try Adam(model.parameters(), betas: (0.8, 0.999))
        #expect(throws: EmbeddingKitError.self) { try otherBetas.loadStateDict(state) }
        let fewer = try Adam(model.head.parameters())
        #expect(throws: EmbeddingKitError.self) { try fewer.loadStateDict(state) }
        var bad = state
        bad.tensors["state.0.bogus"] = Tensor.zeros([1])
        #expect(throws: EmbeddingKitError.self) { try adam.loadStateDict(bad) }
        // plain SGD keeps nothing but its rate
        let plain = try SGD(model.parameters(), learningRate: 0.1)
        #expect(plain.stateDict().tensors.isEmpty)
    }

    @Test("schedules match PyTorch's closed forms")
    func schedules() throws {
        let base: Float = 0.1, b = Double(base)   // PyTorch computes in double from the float rate
        let step = try StepLR(stepSize: 3, gamma: 0.5)
        for e in 0..<10 { #expect(step.learningRate(at: e, base: base) == Float(b * pow(0.5, Double(e / 3)))) }
        let cosine = try CosineAnnealingLR(tMax: 8, etaMin: 0.001)
        for e in 0...8 {
            let expected = Double(Float(0.001)) + (b - Double(Float(0.001))) * (1 + cos(Double.pi * Double(e) / 8)) / 2
            #expect(cosine.learningRate(at: e, base: base) == Float(expected))
        }
        #expect(cosine.learningRate(at: 8, base: base) == 0.001)
        let linear = try LinearLR()   // PyTorch's defaults: 1/3 to 1 over 5
        for e in 0..<8 {
            let f = 1.0 / 3 + (1 - 1.0 / 3) * Double(min(e, 5)) / 5
            #expect(abs(linear.learningRate(at: e, base: base) - Float(b * f)) <= 1e-9)
        }
        #expect(linear.learningRate(at: 5, base: base) == base)
        // warm-up then cosine: SequentialLR(milestones=[5]) restarts the cosine at 0 at epoch 5
        let chained = linear.then(try CosineAnnealingLR(tMax: 10), at: 5)
        #expect(chained.milestones == [5])
        #expect(chained.learningRate(at: 4, base: base) == linear.learningRate(at: 4, base: base))
        #expect(chained.learningRate(at: 5, base: base) == base)
        #expect(chained.learningRate(at: 15, base: base) == 0)
        let sgd = try SGD([Tensor.zeros([2])], learningRate: 0.1)
        let scheduler = LearningRateScheduler(sgd, schedule: step)
        var rates = [scheduler.learningRate]
        for _ in 0..<6 { scheduler.step(); rates.append(sgd.learningRate) }
        #expect(rates == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
        #expect(throws: EmbeddingKitError.self) { try StepLR(stepSize: 0) }
        #expect(throws: EmbeddingKitError.self) { try LinearLR(startFactor: 0) }
        #expect(throws: EmbeddingKitError.self) { try SequentialLR([step], milestones: [1]) }
    }
}
