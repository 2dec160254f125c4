import ArgumentParser
import EmbeddingKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LangID

/// `embedkit langid`: train, evaluate and run the CLD3-style language identifier.
struct LangIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "langid",
        abstract: "CLD3-style language identification, trained on Debian's fortune files.",
        subcommands: [Train.self, Eval.self, Predict.self]
    )
}

/// Options the subcommands share.
struct CommonOptions: ParsableArguments {
    @Option(help: "The fortune folder (Debian's fortunes packages install it).")
    var corpus = LanguageCorpus.defaultFolder
    @Option(help: "Kernel and featurisation threads.")
    var threads = 2
}

extension LangIDCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the corpus, train, evaluate on the held-out 20 %, save the model and its loss curve.")

        @OptionGroup var common: CommonOptions
        @Option(help: "Passes over the training set.") var epochs = 3
        @Option(help: "Embedding width per n-gram order (one value for all, or one per order, comma-separated).") var dim = "16"
        @Option(help: "N-gram orders, comma-separated.") var orders = NGramFeaturizer.defaultOrders.map(String.init).joined(separator: ",")
        @Option(help: "Hash buckets per order, comma-separated.") var buckets = NGramFeaturizer.defaultBuckets.map(String.init).joined(separator: ",")
        @Option(help: "Hidden layer width.") var hidden = 64
        @Option(help: "Samples per step.") var batchSize = 128
        @Option(help: "Adagrad learning rate.") var lr: Float = 0.3
        @Option(help: "Seed for the weights and the shuffling (same seed, same model).") var seed: UInt64 = 1
        @Option(help: "Repeat rare languages up to this many samples per epoch.") var balance = 12000
        @Option(help: "Dropout on the concatenated n-gram vectors while training (0: off).") var dropout: Float = 0.5
        @Option(help: "Also train on each sample's first N characters (0: off).") var shortTraining = 40
        @Option(help: "Where to write the model (.safetensors); the loss curve goes next to it (.svg).")
        var output = "build/langid/langid.safetensors"
        @Flag(help: "No progress bar (for logs).") var quiet = false

        func run() throws {
            try setNumThreads(common.threads)
            keepFreedMemoryInProcess()
            let clock = Stopwatch()
            let corpus = try LanguageCorpus.load(from: common.corpus, options: CorpusOptions(threads: common.threads))
            let corpusSeconds = clock.lap()
            printCorpus(corpus, seconds: corpusSeconds)

            // featurise once; the training set is every sample plus its first `shortTraining` characters
            var texts = corpus.train.map(\.text), languages = corpus.train.map(\.language)
            if shortTraining > 0 {
                texts += corpus.train.map { shortVariant(of: $0.text, maxCharacters: shortTraining) }
                languages += corpus.train.map(\.language)
            }
            let orderList = try integerList(orders, option: "--orders")
            let bucketList = try integerList(buckets, option: "--buckets", count: orderList.count)
            let dimList = try integerList(dim, option: "--dim", count: orderList.count)
            let featurizer = NGramFeaturizer(orders: orderList, buckets: bucketList)
            let features = featurizer.featurize(texts, threads: common.threads)
            let featureSeconds = clock.lap()
            let index = Dictionary(uniqueKeysWithValues: corpus.languages.enumerated().map { ($1, $0) })
            print("features: \(texts.count) texts (\(corpus.train.count) samples + their first \(shortTraining) characters), "
                  + "n-gram orders \(featurizer.orders), buckets \(featurizer.buckets), "
                  + "\(features.entryCounts.reduce(0, +)) entries, \(seconds(featureSeconds))")

            var options = TrainingOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = lr
            options.seed = seed
            options.minimumSamplesPerLanguage = balance
            options.dropout = dropout
            let configuration = LangIDConfiguration(orders: featurizer.orders, buckets: featurizer.buckets,
                                                    dimensions: dimList, hidden: hidden,
                                                    languages: corpus.languages)
            let bar = ProgressBar(enabled: !quiet)
            let result = try trainLangID(configuration, features: features, labels: languages.map { Int64(index[$0]!) },
                                         options: options) { bar.update($0) }
            bar.finish()
            let trainSeconds = clock.lap()
            print("training: \(seconds(trainSeconds)) (featurisation included: \(seconds(featureSeconds + trainSeconds)); "
                  + "corpus reading \(seconds(corpusSeconds)))")

            try evaluate(result.model, corpus: corpus, threads: common.threads)

            try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try result.model.save(to: output)
            let svgPath = (output as NSString).deletingPathExtension + ".svg"
            let svg = lossCurveSVG(result.lossCurve, stepsPerPoint: result.lossCurveStride,
                                   title: "embedkit langid: training loss (\(epochs) epochs, batch \(batchSize))")
            try svg.write(toFile: svgPath, atomically: true, encoding: .utf8)
            print("\nmodel: \(output) (\(fileSize(output))); loss curve: \(svgPath)")
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate a saved model on the corpus's held-out 20 %.")
        @OptionGroup var common: CommonOptions
        @Option(help: "The model file.") var model = "build/langid/langid.safetensors"

        func run() throws {
            try setNumThreads(common.threads)
            let model = try LangIDModel.load(from: self.model)
            let corpus = try LanguageCorpus.load(from: common.corpus, options: CorpusOptions(threads: common.threads))
            try evaluate(model, corpus: corpus, threads: common.threads)
        }
    }

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the language of each text (arguments, or one text per line of standard input).")
        @Option(help: "The model file.") var model = "build/langid/langid.safetensors"
        @Option(help: "Show the k most likely languages.") var top = 1
        @Option(help: "Kernel threads.") var threads = 2
        @Argument(help: "Texts to identify; none: read lines from standard input.") var texts: [String] = []

        func run() throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
            try setNumThreads(threads)
            let predictor = LangIDPredictor(try LangIDModel.load(from: model))
            var inputs = texts
            if inputs.isEmpty { while let line = readLine() { inputs.append(line) } }
            let probabilities = try predictor.probabilities(inputs)
            let languages = predictor.model.configuration.languages
            for (text, p) in zip(inputs, probabilities) {
                let ranked = p.indices.sorted { p[$0] > p[$1] }.prefix(top)
                let answer = ranked.map { "\(languages[$0]) \(String(format: "%.3f", p[$0]))" }.joined(separator: "  ")
                print("\(answer)\t\(text)")
            }
        }
    }
}

// MARK: - Reports

func printCorpus(_ corpus: LanguageCorpus, seconds s: Double) {
    print("corpus: \(corpus.folder), \(corpus.statistics.files) files, \(corpus.statistics.fortunes) fortunes, read in \(seconds(s))")
    print(corpus.formattedCounts())
    let st = corpus.statistics
    print("dropped: \(st.tooShort) under 20 characters, \(st.notText) ASCII art / not text, \(st.duplicates) duplicates"
          + (st.invalidUTF8 > 0 ? ", \(st.invalidUTF8) not UTF-8" : ""))
    if !corpus.skippedFiles.isEmpty {
        print("files left out:")
        for file in corpus.skippedFiles { print("  \(file)") }
    }
}

/// Accuracy on the full and the 40-character test sets, per language, the top confusions, and a
/// few sample sentences; also prediction throughput.
func evaluate(_ model: LangIDModel, corpus: LanguageCorpus, threads: Int) throws {
    model.eval()
    let predictor = LangIDPredictor(model)
    let languages = model.configuration.languages
    let index = Dictionary(uniqueKeysWithValues: languages.enumerated().map { ($1, $0) })
    let test = corpus.test.filter { index[$0.language] != nil }
    let truth = test.map { index[$0.language]! }
    let clock = Stopwatch()
    let full = try predictor.predict(test.map(\.text))
    let rate = Double(test.count) / clock.lap()
    let short = try predictor.predict(test.map { shortVariant(of: $0.text, maxCharacters: 40) })
    let f = LangIDEvaluation(languages: languages, truth: truth, predicted: full)
    let s = LangIDEvaluation(languages: languages, truth: truth, predicted: short)
    print("\ntest accuracy on \(test.count) held-out samples (prediction: \(Int(rate)) samples/s)")
    print("                 overall    macro")
    print("  full text     " + percent(f.accuracy) + "  " + percent(f.macroAccuracy))
    print("  first 40 ch.  " + percent(s.accuracy) + "  " + percent(s.macroAccuracy))
    print("\nper language      samples     full   40 ch.")
    for (a, b) in zip(f.perLanguage, s.perLanguage) {
        print("  " + a.language.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%9d", a.samples)
              + "  " + percent(a.accuracy ?? 0) + "  " + percent(b.accuracy ?? 0))
    }
    print("\nmost frequent confusions (full text): "
          + f.topConfusions(6).map { "\($0.truth)→\($0.predicted) \($0.count)" }.joined(separator: ", "))
    print("most frequent confusions (40 ch.):    "
          + s.topConfusions(6).map { "\($0.truth)→\($0.predicted) \($0.count)" }.joined(separator: ", "))

    print("\nsample sentences:")
    let samples = [
        "The quick brown fox jumps over the lazy dog.",
        "Der frühe Vogel fängt den Wurm.",
        "¿Dónde está la biblioteca?",
        "Chi va piano va sano e va lontano.",
        "Nie ma róży bez kolców.",
        "Тише едешь — дальше будешь.",
        "Kdo jinému jámu kopá, sám do ní padá.",
        "Kto druhému jamu kope, sám do nej padne.",
        "Quem não arrisca não petisca.",
        "La vivo estas bela, kiam oni havas amikojn.",
        "Is fearr Gaeilge bhriste ná Béarla cliste.",
        "Без труд няма сладък хляб.",
        "千里之行，始于足下。",
    ]
    let probabilities = try predictor.probabilities(samples)
    for (text, p) in zip(samples, probabilities) {
        let best = p.indices.max { p[$0] < p[$1] }!
        print("  \(languages[best]) \(String(format: "%.3f", p[best]))  \(text)")
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

func percent(_ x: Double) -> String { String(format: "%7.2f %%", x * 100) }
func seconds(_ s: Double) -> String { String(format: "%.2f s", s) }
func fileSize(_ path: String) -> String {
    let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return String(format: "%.1f MB", Double(bytes ?? 0) / 1e6)
}

/// Wall-clock laps.
final class Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds
    /// Seconds since the previous lap (or creation).
    func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}

/// A one-line progress bar on standard error: epoch, bar, running loss, samples per second.
final class ProgressBar {
    let enabled: Bool
    private var lastDrawn = -1
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: TrainingProgress) {
        let total = p.epochs * p.stepsPerEpoch, done = p.epoch * p.stepsPerEpoch + p.step
        let permille = done * 1000 / Swift.max(total, 1)
        let endOfEpoch = p.step == p.stepsPerEpoch
        guard permille / 5 != lastDrawn || endOfEpoch else { return }
        lastDrawn = permille / 5
        let width = 30, filled = width * done / Swift.max(total, 1)
        let line = String(format: "epoch %d/%d [%@%@] %5.1f%%  loss %.4f  %6.0f samples/s  %5.1f s",
                          p.epoch + 1, p.epochs, String(repeating: "#", count: filled), String(repeating: ".", count: width - filled),
                          Double(permille) / 10, p.loss, p.samplesPerSecond, p.elapsed)
        if enabled {
            FileHandle.standardError.write(Data(("\r" + line).utf8))
            if endOfEpoch { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if endOfEpoch {
            print(line)
        }
    }

    func finish() {}
}

/// Parses `"1,2,3"`; one value is repeated `count` times when a count is given.
func integerList(_ text: String, option: String, count: Int? = nil) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, let list = values as? [Int], list.allSatisfy({ $0 > 0 }) else {
        throw ValidationError("\(option): expected positive integers separated by commas, got '\(text)'")
    }
    guard let count, list.count != count else { return list }
    if list.count == 1 { return Array(repeating: list[0], count: count) }
    throw ValidationError("\(option): \(list.count) values for \(count) n-gram orders")
}
