import ArgumentParser
import EmbeddingKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LangID

extension LangIDCommand {
    /// `embedkit langid train`: corpus, features, training, the saved model and loss curve, the
    /// evaluation. Every option is checked in `validate()` (usage error, exit 64) and the output
    /// paths on disk before the corpus is read (exit 1), so no run trains and then fails to save.
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the corpus, train, save the model and its loss curve, evaluate on the held-out 20 %.")

        @OptionGroup var common: CommonOptions
        @Option(help: "Passes over the training set (\(TrainingOptions.Limits.epochs)).") var epochs = 3
        @Option(help: "Embedding width per n-gram order, 1 to \(LangIDConfiguration.Limits.maxDimension) (one value for all, or one per order, comma-separated).")
        var dim = "16"
        @Option(help: "N-gram orders, comma-separated, distinct, 1 to \(LangIDConfiguration.Limits.maxOrder) characters; 0: whole words; -1: letters outside ASCII (write --orders=-1,...).")
        var orders = NGramFeaturizer.demoOrders.map(String.init).joined(separator: ",")
        @Option(help: "Hash buckets per order, 1 to \(LangIDConfiguration.Limits.maxBuckets) (one value for all, or one per order, comma-separated).")
        var buckets = NGramFeaturizer.demoBuckets.map(String.init).joined(separator: ",")
        @Option(help: "Hidden layer width (1 to \(LangIDConfiguration.Limits.maxHidden)).") var hidden = 64
        @Option(help: "Samples per step (\(TrainingOptions.Limits.batchSize)).") var batchSize = 128
        @Option(help: "Adagrad learning rate (finite, > 0).") var lr: Float = 0.3
        @Option(help: "Seed for the weights and the shuffling (same seed, same model).") var seed: UInt64 = 1
        @Option(help: "Repeat rare languages up to this many samples per epoch (\(TrainingOptions.Limits.minimumSamplesPerLanguage); 0: off).")
        var balance = 12000
        @Option(help: "Dropout on the concatenated n-gram vectors while training (0 <= p < 1; 0: off).") var dropout: Float = 0.5
        @Option(help: "Also train on each sample's first N characters (0 to \(NGramFeaturizer.maxTextBytes); 0: off).")
        var shortTraining = 40
        @Option(help: "Pseudo-sentences per language drawn from Debian's word lists (0: fortunes only).")
        var wordSamples = 8000
        @Option(help: "Top up each language's word-list samples until fortunes + samples reach this many (0: off).")
        var fillUp = 16000
        @Option(help: "Share of pseudo-sentence words drawn from the 300 commonest words of the language's training fortunes (0...1).")
        var commonShare = 0.4
        @Flag(inversion: .prefixedNo, help: "Test on the held-out genres (Vim's tutorial; Emacs's where installed; never trained on).")
        var heldOut = true
        @Option(help: "Where to write the model (.safetensors); the loss curve goes next to it (.svg). The folder is created and checked before training.")
        var output = "build/langid/langid.safetensors"
        @Option(help: "Element type of the n-gram tables while training: f32, bf16 (stochastic rounding), bf16-nearest (round to nearest), f16 (stochastic rounding).")
        var storage = "f32"
        @Flag(help: "No progress bar (it is drawn only when standard error is a terminal anyway).") var quiet = false

        /// The options as library values.
        struct Settings {
            var configuration: LangIDConfiguration
            var options: TrainingOptions
            var output: TrainOutput
        }

        /// Every option checked; throws `ValidationError` naming the option and the value.
        func settings() throws -> Settings {
            let orderList = try integerList(orders, option: "--orders")
            try asUsageError { () throws(EmbeddingKitError) in try LangIDConfiguration.validateOrders(orderList) { "--\($0)" } }
            let configuration = LangIDConfiguration(
                orders: orderList, buckets: try integerList(buckets, option: "--buckets", count: orderList.count),
                dimensions: try integerList(dim, option: "--dim", count: orderList.count), hidden: hidden, languages: [])
            try asUsageError { () throws(EmbeddingKitError) in
                try configuration.validateShape { ["dimensions": "--dim"][$0] ?? "--\($0)" }
            }
            var options = TrainingOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = lr
            options.seed = seed
            options.minimumSamplesPerLanguage = balance
            options.dropout = dropout
            let storages: [String: TableStorage] = ["f32": .float32, "bf16": .bfloat16, "bf16-nearest": .bfloat16(rounding: .nearest),
                                                    "f16": .float16]
            guard let tableStorage = storages[storage] else {
                throw ValidationError("--storage: \(storage) is not one of f32, bf16, bf16-nearest, f16")
            }
            options.tableStorage = tableStorage
            try asUsageError { () throws(EmbeddingKitError) in
                try options.validate {
                    ["batchSize": "--batch-size", "learningRate": "--lr", "minimumSamplesPerLanguage": "--balance"][$0] ?? "--\($0)"
                }
            }
            guard (0...1_000_000).contains(fillUp) else {
                throw ValidationError("--fill-up: \(fillUp) is outside 0...1000000")
            }
            guard (0...1_000_000).contains(wordSamples) else {
                throw ValidationError("--word-samples: \(wordSamples) is outside 0...1000000")
            }
            guard (0...NGramFeaturizer.maxTextBytes).contains(shortTraining) else {
                throw ValidationError("--short-training: \(shortTraining) is outside 0...\(NGramFeaturizer.maxTextBytes)")
            }
            return Settings(configuration: configuration, options: options, output: try TrainOutput(output))
        }

        func validate() throws { _ = try settings() }

        func run() throws {
            let settings = try settings()
            try setNumThreads(common.threads)
            try settings.output.prepare()
            keepFreedMemoryInProcess()
            let clock = Stopwatch()
            let corpus = try LanguageCorpus.load(from: common.corpus, options: CorpusOptions(threads: common.threads))
            let corpusSeconds = clock.lap()
            printCorpus(corpus, seconds: corpusSeconds)
            let trained = Set(corpus.train.map(\.language)).sorted()
            guard trained.count >= 2 else {
                throw CLIError("the corpus \(corpus.folder) has training samples of \(trained.count) language(s) \(trained); "
                               + "a language identifier needs at least two")
            }
            // the word lists and the held-out genre only for the fortunes' languages: they set the labels
            let inCorpus = { (source: CorpusSource) in trained.contains(source.language) }
            let extra = try SupplementaryCorpus.load(wordLists: DebianSources.wordLists.filter(inCorpus), samplesPerLanguage: wordSamples,
                                                     heldOutText: heldOut ? DebianSources.heldOutTexts.filter(inCorpus) : [],
                                                     existing: corpus.counts().reduce(into: [:]) { $0[$1.language] = $1.train },
                                                     fillUpTo: wordSamples > 0 ? fillUp : 0,
                                                     commonWords: commonShare > 0 ? commonWords(of: corpus.train, top: 300) : [:],
                                                     commonShare: commonShare,
                                                     seed: settings.options.seed, threads: common.threads)
            let extraSeconds = clock.lap()
            printSupplement(extra, seconds: extraSeconds)
            let trainSamples = corpus.train + extra.train

            // featurise once; the training set is every sample plus its first `shortTraining` characters
            var texts = trainSamples.map(\.text), languages = trainSamples.map(\.language)
            if shortTraining > 0 {
                texts += trainSamples.map { shortVariant(of: $0.text, maxCharacters: shortTraining) }
                languages += trainSamples.map(\.language)
            }
            var configuration = settings.configuration
            configuration.languages = trained
            try configuration.validateLanguages { _ in "the corpus's languages" }
            let featurizer = try configuration.featurizer
            let features = featurizer.featurize(texts, threads: common.threads)
            let featureSeconds = clock.lap()
            let index = Dictionary(uniqueKeysWithValues: configuration.languages.enumerated().map { ($1, Int64($0)) })
            print("features: \(texts.count) texts (\(corpus.train.count) fortunes + \(extra.train.count) word-list samples + their first \(shortTraining) characters), "
                  + "n-gram orders \(featurizer.orders), buckets \(featurizer.buckets), "
                  + "\(features.entryCounts.reduce(0, +)) entries, \(seconds(featureSeconds))")

            let bar = ProgressBar(terminal: !quiet && isatty(STDERR_FILENO) != 0)
            let result = try trainLangID(configuration, features: features, labels: languages.map { index[$0] ?? -1 },
                                         options: settings.options) { bar.update($0) }
            let trainSeconds = clock.lap()
            print("training: \(seconds(trainSeconds)) (featurisation included: \(seconds(featureSeconds + trainSeconds)); "
                  + "reading: fortunes \(seconds(corpusSeconds)), word lists and tutor \(seconds(extraSeconds)))")

            // save first: an evaluation that fails must not cost the trained model
            let svg = lossCurveSVG(result.lossCurve, stepsPerPoint: result.lossCurveStride,
                                   title: "embedkit langid: training loss (\(epochs) epochs, batch \(batchSize))")
            try settings.output.save(result.model, lossCurve: svg)
            try evaluate(result.model, corpus: corpus, heldOut: extra.heldOutGenres, threads: common.threads)
            print("\nmodel: \(settings.output.model) (\(fileSize(settings.output.model))); loss curve: \(settings.output.curve)")
        }
    }
}

/// Each training step allocates and frees a few MB (gradients, batch tensors). glibc would hand such
/// blocks back to the kernel and fault in fresh zeroed pages next step (15 % of training time in
/// `clear_page`); keeping them in the heap avoids that.
/// (Swift's Glibc module does not expose <malloc.h>, so `mallopt` is looked up by name; the option
/// numbers are glibc's M_TRIM_THRESHOLD = -1 and M_MMAP_THRESHOLD = -3. Elsewhere this does nothing.)
func keepFreedMemoryInProcess() {
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    _ = mallopt(-3, 256 << 20)
    _ = mallopt(-1, 1 << 30)
}
