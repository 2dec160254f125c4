import ArgumentParser
import EmbeddingKit
import Foundation
import LangID

/// `embedkit langid`: train, evaluate and run the CLD3-style language identifier.
struct LangIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "langid",
        abstract: "CLD3-style language identification on Debian's fortune files.",
        subcommands: [Train.self]
    )

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build the corpus, train, evaluate, save the model.")

        @Option(help: "The fortune folder.") var corpus = LanguageCorpus.defaultFolder
        @Option(help: "Passes over the training set.") var epochs = 5
        @Option(help: "Embedding width per n-gram order.") var dim = 16
        @Option(help: "Hidden layer width.") var hidden = 64
        @Option(help: "Samples per step.") var batchSize = 64
        @Option(help: "Adagrad learning rate.") var lr: Float = 0.2
        @Option(help: "Kernel threads.") var threads = 2
        @Option(help: "Seed for weights and shuffling.") var seed: UInt64 = 1
        @Option(help: "Also train on each sample's first N characters (0: off).") var shortTraining = 40

        func run() throws {
            try setNumThreads(threads)
            let t0 = Date()
            let corpus = try LanguageCorpus.load(from: self.corpus)
            let featurizer = NGramFeaturizer()
            var trainTexts = corpus.train.map(\.text)
            var trainLanguages = corpus.train.map(\.language)
            if shortTraining > 0 {
                trainTexts += corpus.train.map { shortVariant(of: $0.text, maxCharacters: shortTraining) }
                trainLanguages += trainLanguages
            }
            let trainFeatures = featurizer.featurize(trainTexts, threads: threads)
            let t1 = Date()
            print("corpus + features: \(String(format: "%.2f", t1.timeIntervalSince(t0))) s, \(corpus.train.count) train, \(trainFeatures.entryCounts.reduce(0, +)) entries")
            let index = Dictionary(uniqueKeysWithValues: corpus.languages.enumerated().map { ($1, $0) })
            let labels = trainLanguages.map { Int64(index[$0]!) }
            var options = TrainingOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = lr
            options.seed = seed
            let config = LangIDConfiguration(dimensions: featurizer.orders.map { _ in dim }, hidden: hidden, languages: corpus.languages)
            var last = -1
            let result = try trainLangID(config, features: trainFeatures, labels: labels, options: options) { p in
                if p.epoch != last && p.step == p.stepsPerEpoch {
                    last = p.epoch
                    print("epoch \(p.epoch + 1) loss \(p.loss) \(Int(p.samplesPerSecond)) samples/s \(String(format: "%.2f", p.elapsed)) s")
                }
            }
            let predictor = LangIDPredictor(result.model)
            let t2 = Date()
            let full = try predictor.predict(corpus.test.map(\.text))
            let t3 = Date()
            let short = try predictor.predict(corpus.shortTest().map(\.text))
            let truth = corpus.test.map { index[$0.language]! }
            let ef = LangIDEvaluation(languages: corpus.languages, truth: truth, predicted: full)
            let es = LangIDEvaluation(languages: corpus.languages, truth: truth, predicted: short)
            print("train \(String(format: "%.2f", result.seconds)) s; predict \(Int(Double(full.count) / t3.timeIntervalSince(t2))) samples/s")
            print(String(format: "full %.2f%% (macro %.2f%%)  short %.2f%% (macro %.2f%%)", ef.accuracy * 100, ef.macroAccuracy * 100,
                         es.accuracy * 100, es.macroAccuracy * 100))
            for l in ef.perLanguage { print(l.language, l.samples, l.accuracy.map { String(format: "%.2f", $0 * 100) } ?? "-") }
            print(ef.topConfusions(8))
        }
    }
}
