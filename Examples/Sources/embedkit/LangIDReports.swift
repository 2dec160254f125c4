import EmbeddingKit
import Foundation
import LangID

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

func printSupplement(_ extra: SupplementaryCorpus, seconds s: Double) {
    print("\nword lists and held-out text (read in \(seconds(s))):")
    for r in extra.reports {
        let kind = r.source.package == "vim-runtime" || r.source.package == "emacs-common" ? "sentences (held out)" : "words"
        print("  \(r.source.language)  \(r.source.package.padding(toLength: 12, withPad: " ", startingAt: 0)) "
              + String(format: "%7.1f MB %9d ", Double(r.bytes) / 1e6, r.items) + kind + "  \(r.path)")
    }
    print("  \(extra.sharedWords) words in two languages' lists dropped from both; "
          + "\(extra.train.count) pseudo-sentences for training, \(extra.heldOut.count) held-out sentences")
    // the optional second held-out genre is missing as a whole on most machines: one line, not twelve
    let emacs = extra.skipped.filter { $0.reason.contains("emacs-common") }
    for file in extra.skipped where !file.reason.contains("emacs-common") { print("  skipped \(file)") }
    if !emacs.isEmpty {
        print("  skipped \(emacs.count) Emacs tutorials (second held-out genre, optional): install the Debian package emacs-common")
    }
}

/// The held-out genres' titles, by package.
func heldOutTitle(_ package: String) -> String {
    switch package {
    case "vim-runtime": return "held-out genre (Vim's tutorial, other authors, never trained on)"
    case "emacs-common": return "second held-out genre (Emacs's tutorial, other translators, never trained on)"
    default: return "held-out text (\(package), never trained on)"
    }
}

/// Accuracy on the fortune test split and on the held-out genre (full text and first 40
/// characters, per language), the top confusions, and a few sample sentences; also prediction
/// throughput.
func evaluate(_ model: any LangIDClassifier, corpus: LanguageCorpus, heldOut: [(package: String, samples: [LanguageSample])] = [],
              threads: Int) throws {
    (model as? LangIDModel)?.eval()
    let predictor = LangIDPredictor(model)
    let languages = model.configuration.languages
    try report(predictor, languages: languages, samples: corpus.test,
               title: "fortune test split", showRate: true)
    for genre in heldOut where !genre.samples.isEmpty {
        try report(predictor, languages: languages, samples: genre.samples, title: heldOutTitle(genre.package), showRate: false)
    }
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
        guard let best = p.indices.max(by: { p[$0] < p[$1] }) else { continue }
        print("  \(languages[best]) \(String(format: "%.3f", p[best]))  \(text)")
    }
}

/// One evaluation table: overall and macro accuracy, per language, top confusions.
func report(_ predictor: LangIDPredictor, languages: [String], samples: [LanguageSample], title: String, showRate: Bool) throws {
    guard let m = try measure(predictor, languages: languages, samples: samples) else {
        print("\n\(title): no samples in the model's languages \(languages)")
        return
    }
    let (f, s) = (m.full, m.short)
    print("\n\(title): accuracy on \(m.full.count) samples"
          + (showRate ? " (prediction: \(String(format: "%.0f", m.samplesPerSecond)) samples/s)" : ""))
    print("                 overall    macro")
    print("  full text     " + percent(f.accuracy) + "  " + percent(f.macroAccuracy))
    print("  first 40 ch.  " + percent(s.accuracy) + "  " + percent(s.macroAccuracy))
    print("\nper language      samples     full   40 ch.")
    for (a, b) in zip(f.perLanguage, s.perLanguage) where a.samples > 0 {
        print("  " + a.language.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%9d", a.samples)
              + "  " + percent(a.accuracy ?? 0) + "  " + percent(b.accuracy ?? 0))
    }
    print("\nmost frequent confusions (full text): "
          + f.topConfusions(6).map { "\($0.truth)→\($0.predicted) \($0.count)" }.joined(separator: ", "))
    print("most frequent confusions (40 ch.):    "
          + s.topConfusions(6).map { "\($0.truth)→\($0.predicted) \($0.count)" }.joined(separator: ", "))
}

/// A model's predictions on labelled samples: full text and first 40 characters.
struct Measurement {
    let full: LangIDEvaluation
    let short: LangIDEvaluation
    /// The predicted labels (indices into the model's languages), full text and first 40 characters.
    let predictedFull: [Int], predictedShort: [Int]
    /// Full-text predictions per second (featurisation included), the best of the timed runs.
    let samplesPerSecond: Double
}

/// Predicts `samples` (those in `languages`) in full and cut to 40 characters; the full-text
/// prediction is timed `timedRuns` times (the best counts: the others are noise from elsewhere on
/// the machine). Nil when no sample is in `languages`.
func measure(_ predictor: LangIDPredictor, languages: [String], samples: [LanguageSample], timedRuns: Int = 1) throws -> Measurement? {
    let index = Dictionary(uniqueKeysWithValues: languages.enumerated().map { ($1, $0) })
    let test = samples.filter { index[$0.language] != nil }
    let truth = test.compactMap { index[$0.language] }
    if test.isEmpty { return nil }
    let texts = test.map(\.text)
    var full: [Int] = [], best = 0.0
    for _ in 0..<max(timedRuns, 1) {
        let clock = Stopwatch()
        full = try predictor.predict(texts)
        let elapsed = clock.lap()
        best = max(best, elapsed > 0 ? Double(test.count) / elapsed : 0)
    }
    let short = try predictor.predict(test.map { shortVariant(of: $0.text, maxCharacters: 40) })
    return Measurement(full: LangIDEvaluation(languages: languages, truth: truth, predicted: full),
                       short: LangIDEvaluation(languages: languages, truth: truth, predicted: short),
                       predictedFull: full, predictedShort: short, samplesPerSecond: best)
}

func percent(_ x: Double) -> String { String(format: "%7.2f %%", x * 100) }
func seconds(_ s: Double) -> String { String(format: "%.2f s", s) }
func fileSize(_ path: String) -> String {
    let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return String(format: "%.1f MB", Double(bytes) / 1e6)
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

