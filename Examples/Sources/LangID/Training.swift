import EmbeddingKit
import Foundation

/// How to train a `LangIDModel`.
public struct TrainingOptions: Sendable {
    /// Passes over the training set.
    public var epochs = 5
    /// Samples per step.
    public var batchSize = 64
    /// Adagrad's learning rate.
    public var learningRate: Float = 0.2
    /// Seeds the initial weights and the shuffling: the same seed gives the same model.
    public var seed: UInt64 = 1
    /// Rare languages are repeated within each epoch until they have about this many samples, so
    /// that a language with 200 samples is not drowned by one with 16,000 (macro accuracy).
    public var minimumSamplesPerLanguage = 0
    /// Dropout on the concatenated n-gram vectors during training (`LangIDModel.dropout`).
    public var dropout: Float = 0
    /// The element type of the n-gram tables while training (`.bfloat16`: 2 bytes per element,
    /// updates rounded as its `rounding` says); the saved model keeps it (BF16 / F16 tensors).
    public var tableStorage: TableStorage = .float32
    public init() {}

    /// What the options may hold; `validate(naming:)` checks them.
    public enum Limits {
        public static let epochs = 1...10_000
        public static let batchSize = 1...(1 << 20)
        /// Per language, so an epoch holds at most languages × 10^6 samples.
        public static let minimumSamplesPerLanguage = 0...1_000_000
    }

    /// Throws `invalidArgument` for an option out of range: epochs, batch size and the sample
    /// minimum outside `Limits`, a learning rate that is not finite and positive, a dropout outside
    /// [0, 1) (1 would zero every input). `name` maps a field name (`epochs`, `batchSize`,
    /// `learningRate`, `minimumSamplesPerLanguage`, `dropout`) to the name the user knows.
    public func validate(naming name: (String) -> String = { $0 }) throws(EmbeddingKitError) {
        func fail(_ field: String, _ value: Any, _ range: String) -> EmbeddingKitError {
            EmbeddingKitError(.invalidArgument, "\(name(field)): \(value) is outside \(range)")
        }
        guard Limits.epochs.contains(epochs) else { throw fail("epochs", epochs, "\(Limits.epochs)") }
        guard Limits.batchSize.contains(batchSize) else { throw fail("batchSize", batchSize, "\(Limits.batchSize)") }
        guard learningRate.isFinite && learningRate > 0 else {
            throw fail("learningRate", learningRate, "(0, ∞) (a finite positive number)")
        }
        guard Limits.minimumSamplesPerLanguage.contains(minimumSamplesPerLanguage) else {
            throw fail("minimumSamplesPerLanguage", minimumSamplesPerLanguage, "\(Limits.minimumSamplesPerLanguage)")
        }
        guard dropout >= 0 && dropout < 1 else { throw fail("dropout", dropout, "[0, 1)") }
    }
}

/// What the training loop reports after each step.
public struct TrainingProgress: Sendable {
    public var epoch: Int, epochs: Int
    public var step: Int, stepsPerEpoch: Int
    /// Mean loss over the steps since the previous report's epoch began.
    public var loss: Float
    /// Training samples per second so far.
    public var samplesPerSecond: Double
    /// Seconds since training began.
    public var elapsed: Double
}

/// The result of `trainLangID`: the model and its loss curve.
public struct TrainingResult {
    public let model: LangIDModel
    /// The mean loss of each block of `lossCurveStride` steps, in order.
    public let lossCurve: [Float]
    public let lossCurveStride: Int
    public let seconds: Double
}

/// Trains a fresh model on `features` (one bag set per sample) with `labels` (indices into
/// `configuration.languages`): shuffled minibatches, cross-entropy, Adagrad on sparse embedding
/// gradients and dense layer gradients. Calls `progress` after every step.
///
/// Throws `invalidArgument` before any work for invalid options or configuration, features of
/// other orders or buckets than the configuration's, a label count that differs from the sample
/// count, no samples, or a label outside `0..<languages.count`.
public func trainLangID(_ configuration: LangIDConfiguration, features: FeatureSet, labels: [Int64],
                        options: TrainingOptions = TrainingOptions(),
                        progress: ((TrainingProgress) -> Void)? = nil) throws -> TrainingResult {
    func fail(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, "trainLangID: " + message) }
    try options.validate()
    try configuration.validate()
    guard features.orders == configuration.orders, features.buckets == configuration.buckets else {
        throw fail("the features have orders \(features.orders) and buckets \(features.buckets), "
                   + "the configuration orders \(configuration.orders) and buckets \(configuration.buckets)")
    }
    guard features.count == labels.count else { throw fail("\(features.count) samples but \(labels.count) labels") }
    guard !labels.isEmpty else { throw fail("no training samples") }
    if let i = labels.firstIndex(where: { $0 < 0 || $0 >= configuration.languages.count }) {
        throw fail("label \(labels[i]) at position \(i) is outside 0..<\(configuration.languages.count)")
    }
    let generator = Generator(seed: options.seed)
    let model = try LangIDModel(configuration, storage: options.tableStorage, generator: generator)
    model.dropout = options.dropout
    defer { model.isTraining = false }
    let optimizer = try Adagrad(model.parameters(), learningRate: options.learningRate)
    let epochSamples = oversampled(labels: labels, minimum: options.minimumSamplesPerLanguage)
    let stepsPerEpoch = (epochSamples.count + options.batchSize - 1) / options.batchSize
    let stride = Swift.max(1, stepsPerEpoch / 20)
    var batch = FeatureBatch()
    let pipeline = BatchPipeline(features: features)
    var curve: [Float] = [], block: Float = 0, blockSteps = 0
    let start = Date()
    var seen = 0
    for epoch in 0..<options.epochs {
        // drawn here, between the previous epoch's last dropout draw and this epoch's first, as always
        let order = Tensor.randperm(epochSamples.count, generator: generator).indices
        func samples(ofStep step: Int) -> [Int] {
            order[(step * options.batchSize)..<Swift.min(order.count, (step + 1) * options.batchSize)].map { epochSamples[Int($0)] }
        }
        var epochLoss: Float = 0
        var ids = samples(ofStep: 0)
        features.assemble(ids, into: &batch)
        for step in 0..<stepsPerEpoch {
            let target = Tensor(shape: [ids.count], indices: ids.map { labels[$0] })
            // zeroGrad first: it drops the previous step's tensors, the last users of the spare batch's arrays
            optimizer.zeroGrad()
            let nextIDs = step + 1 < stepsPerEpoch ? samples(ofStep: step + 1) : []
            if !nextIDs.isEmpty { pipeline.prefetch(nextIDs) }
            let loss = try crossEntropy(try model(batch), target)
            loss.backward()
            try optimizer.step()

            let value = loss.item
            epochLoss += value
            block += value
            blockSteps += 1
            if blockSteps == stride { curve.append(block / Float(blockSteps)); block = 0; blockSteps = 0 }
            seen += ids.count
            if let progress {
                let elapsed = Date().timeIntervalSince(start)
                progress(TrainingProgress(epoch: epoch, epochs: options.epochs, step: step + 1, stepsPerEpoch: stepsPerEpoch,
                                          loss: epochLoss / Float(step + 1), samplesPerSecond: Double(seen) / Swift.max(elapsed, 1e-9),
                                          elapsed: elapsed))
            }
            if !nextIDs.isEmpty {
                pipeline.take(into: &batch)
                ids = nextIDs
            }
        }
    }
    if blockSteps > 0 { curve.append(block / Float(blockSteps)) }
    return TrainingResult(model: model, lossCurve: curve, lossCurveStride: stride, seconds: Date().timeIntervalSince(start))
}

/// Every sample id once, and the samples of a language with fewer than `minimum` samples repeated
/// `ceil(minimum / count)` times in all.
func oversampled(labels: [Int64], minimum: Int) -> [Int] {
    var counts: [Int64: Int] = [:]
    for l in labels { counts[l, default: 0] += 1 }
    var ids: [Int] = []
    for (i, l) in labels.enumerated() {
        let n = counts[l]!
        let copies = n >= minimum ? 1 : (minimum + n - 1) / n
        for _ in 0..<copies { ids.append(i) }
    }
    return ids
}
