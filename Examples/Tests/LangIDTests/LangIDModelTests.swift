import EmbeddingKit
import Foundation
import Testing
@testable import LangID

/// The language-ID model trains on a small real corpus (Fixtures/mini-fortunes: 5 languages from
/// Debian's fortune files, written by Fixtures/make_mini_corpus.py), deterministically, and its
/// saved file predicts what the trained model predicts.
@Suite("Language-ID model")
struct LangIDModelTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mini-fortunes").path

    struct Setup {
        let corpus: LanguageCorpus
        let configuration: LangIDConfiguration
        let features: FeatureSet
        let labels: [Int64]
    }

    static func setup() throws -> Setup {
        let corpus = try LanguageCorpus.load(from: folder)
        let configuration = LangIDConfiguration(orders: [1, 2, 3], buckets: [512, 2048, 4096], dimensions: [8, 8, 8], hidden: 16,
                                                languages: corpus.languages)
        let index = Dictionary(uniqueKeysWithValues: corpus.languages.enumerated().map { ($1, Int64($0)) })
        return Setup(corpus: corpus, configuration: configuration,
                     features: try configuration.featurizer.featurize(corpus.train.map(\.text)),
                     labels: corpus.train.map { index[$0.language]! })
    }

    static func options() -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = 4
        options.batchSize = 16
        options.learningRate = 0.3
        options.seed = 7
        options.dropout = 0.3   // as the demo trains; its mask must not depend on the thread count either
        return options
    }

    @Test func lossFallsAndPredictionsBeatChanceByFar() throws {
        let s = try Self.setup()
        #expect(s.corpus.languages == ["de", "en", "es", "pl", "ru"])
        let result = try trainLangID(s.configuration, features: s.features, labels: s.labels, options: Self.options())
        let first = result.lossCurve.prefix(3).reduce(0, +) / 3, last = result.lossCurve.suffix(3).reduce(0, +) / 3
        #expect(last < first / 3, "loss \(first) -> \(last)")
        let index = Dictionary(uniqueKeysWithValues: s.corpus.languages.enumerated().map { ($1, $0) })
        let predicted = try LangIDPredictor(result.model).predict(s.corpus.test.map(\.text))
        let evaluation = LangIDEvaluation(languages: s.corpus.languages, truth: s.corpus.test.map { index[$0.language]! },
                                          predicted: predicted)
        #expect(s.corpus.test.count >= 50)
        // chance is 1/5; a working model gets nearly all of these held-out fortunes
        #expect(evaluation.accuracy >= 0.85, "held-out accuracy \(evaluation.accuracy)")
    }

    @Test func sameSeedSameModelForOneOrTwoThreads() throws {
        let s = try Self.setup()
        let saved = numThreads()
        defer { try? setNumThreads(saved) }
        try setNumThreads(1)
        let one = try trainLangID(s.configuration, features: s.features, labels: s.labels, options: Self.options()).model
        try setNumThreads(2)
        let two = try trainLangID(s.configuration, features: s.features, labels: s.labels, options: Self.options()).model
        for (a, b) in zip(one.namedParameters(), two.namedParameters()) {
            #expect(a.tensor.scalars.map(\.bitPattern) == b.tensor.scalars.map(\.bitPattern), "\(a.name) differs")
        }
    }

    @Test func savedModelPredictsTheSameAndBadFilesAreRejected() throws {
        let s = try Self.setup()
        var options = Self.options()
        options.epochs = 1
        let model = try trainLangID(s.configuration, features: s.features, labels: s.labels, options: options).model
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("langid-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        try model.save(to: path)
        let loaded = try LangIDModel.load(from: path)
        #expect(loaded.configuration == model.configuration)
        let texts = s.corpus.test.prefix(20).map(\.text)
        #expect(try LangIDPredictor(loaded).probabilities(texts) == LangIDPredictor(model).probabilities(texts))

        // a safetensors file without the model's metadata is refused, naming the file
        let plain = dir + "/plain.safetensors"
        try SafeTensors(tensors: ["w": Tensor.zeros([2])]).write(to: plain)
        #expect { _ = try LangIDModel.load(from: plain) } throws: { error in
            "\(error)".contains(plain) && "\(error)".contains("format")
        }
    }

    /// Options and inputs that used to trap (a batch size of 0 divided by zero) or were accepted
    /// silently (NaN dropout, no epochs) are refused before any work.
    @Test func badTrainingOptionsAndInputsThrow() throws {
        let s = try Self.setup()
        var cases: [(TrainingOptions, String)] = []
        func with(_ change: (inout TrainingOptions) -> Void, _ message: String) {
            var o = Self.options()
            change(&o)
            cases.append((o, message))
        }
        with({ $0.batchSize = 0 }, "batchSize: 0 is outside 1...1048576")
        with({ $0.batchSize = -1 }, "batchSize: -1 is outside")
        with({ $0.batchSize = Int.max }, "batchSize: 9223372036854775807 is outside")
        with({ $0.epochs = 0 }, "epochs: 0 is outside 1...10000")
        with({ $0.epochs = -1 }, "epochs: -1 is outside")
        with({ $0.dropout = 2 }, "dropout: 2.0 is outside [0, 1)")
        with({ $0.dropout = .nan }, "dropout: nan is outside [0, 1)")
        with({ $0.dropout = 1 }, "dropout: 1.0 is outside [0, 1)")
        with({ $0.learningRate = .infinity }, "learningRate: inf is outside")
        with({ $0.learningRate = 0 }, "learningRate: 0.0 is outside")
        with({ $0.minimumSamplesPerLanguage = -5 }, "minimumSamplesPerLanguage: -5 is outside")
        for (options, message) in cases {
            #expect { _ = try trainLangID(s.configuration, features: s.features, labels: s.labels, options: options) } throws: {
                "\($0)".contains(message)
            }
        }
        var one = s.configuration
        one.languages = ["en"]
        #expect { _ = try trainLangID(one, features: s.features, labels: s.labels.map { _ in 0 }, options: Self.options()) } throws: {
            "\($0)".contains("a language identifier needs at least two")
        }
        #expect { _ = try trainLangID(s.configuration, features: s.features, labels: Array(s.labels.dropLast()), options: Self.options()) } throws: {
            "\($0)".contains("samples but")
        }
        #expect { _ = try trainLangID(s.configuration, features: s.features, labels: s.labels.map { _ in 9 }, options: Self.options()) } throws: {
            "\($0)".contains("label 9 at position 0 is outside 0..<5")
        }
        var otherBuckets = s.configuration
        otherBuckets.buckets = [512, 2048, 4097]
        #expect { _ = try trainLangID(otherBuckets, features: s.features, labels: s.labels, options: Self.options()) } throws: {
            "\($0)".contains("the features have orders")
        }
    }
}
