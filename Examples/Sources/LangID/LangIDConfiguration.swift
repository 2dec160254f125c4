import EmbeddingKit

/// The shape of a language-ID model: which n-grams it reads, how wide each table is, the hidden
/// layer, and the languages it tells apart. Saved with the weights as safetensors metadata.
///
/// Its values come from command lines and model files, so `validate()` checks them against
/// `Limits` before anything is allocated: a bad value is a thrown error, never a trap or a
/// multi-gigabyte allocation.
public struct LangIDConfiguration: Sendable, Equatable, Codable {
    /// The n-gram orders, e.g. `[1, 2, 3, 4]`.
    public var orders: [Int]
    /// Hash buckets (embedding rows) per order.
    public var buckets: [Int]
    /// Embedding width per order.
    public var dimensions: [Int]
    /// Width of the hidden layer.
    public var hidden: Int
    /// ISO 639-1 codes, in output order.
    public var languages: [String]

    public init(orders: [Int] = NGramFeaturizer.defaultOrders, buckets: [Int] = NGramFeaturizer.defaultBuckets,
                dimensions: [Int]? = nil, hidden: Int = 64, languages: [String]) {
        self.orders = orders
        self.buckets = buckets
        self.dimensions = dimensions ?? orders.map { _ in 16 }
        self.hidden = hidden
        self.languages = languages
    }

    /// What a configuration may hold. The bounds are far above the demo model (4 orders, at most
    /// 131,072 buckets, width 16, hidden 64, 13 languages, 3.4 M parameters) and keep a model's
    /// parameters under 1 GiB of float32.
    public enum Limits {
        /// N-gram orders are distinct values in `-1...maxOrder` (the featurizer's bound; 0: whole words, -1: letters outside ASCII).
        public static let maxOrder = 64
        /// Buckets per order: `1...maxBuckets` (2^24).
        public static let maxBuckets = 1 << 24
        /// Embedding width per order: `1...maxDimension`.
        public static let maxDimension = 1024
        /// Hidden layer width: `1...maxHidden`.
        public static let maxHidden = 4096
        /// Languages: `2...maxLanguages` distinct codes.
        public static let maxLanguages = 1024
        /// A language code: 1 to this many bytes, no comma, whitespace or control character.
        public static let maxLanguageCodeBytes = 32
        /// All parameters together (embedding rows, both linear layers): at most 2^28 floats (1 GiB).
        public static let maxParameters = 1 << 28
    }

    /// The number of float parameters of the model; `Int.max` when that overflows.
    public var parameterCount: Int {
        func add(_ a: Int, _ b: Int) -> Int { let (r, o) = a.addingReportingOverflow(b); return o ? .max : r }
        func mul(_ a: Int, _ b: Int) -> Int { let (r, o) = a.multipliedReportingOverflow(by: b); return o ? .max : r }
        let tables = zip(buckets, dimensions).reduce(0) { add($0, mul($1.0, $1.1)) }
        let width = dimensions.reduce(0, add)
        return add(add(tables, mul(hidden, width)), add(hidden, mul(languages.count, add(hidden, 1))))
    }

    /// Checks everything: `validateShape(naming:)` and `validateLanguages(naming:)`.
    public func validate(naming name: (String) -> String = { $0 }) throws(EmbeddingKitError) {
        try validateShape(naming: name)
        try validateLanguages(naming: name)
    }

    /// Checks orders, buckets, dimensions and hidden against `Limits`, then the parameter count
    /// (with `languages.count` outputs, at least 2). `name` turns a field name (`orders`, `buckets`,
    /// `dimensions`, `hidden`) into the name the user knows, e.g. `--orders`.
    public func validateShape(naming name: (String) -> String = { $0 }) throws(EmbeddingKitError) {
        func fail(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, message) }
        try Self.validateOrders(orders, naming: name)
        func checkList(_ values: [Int], _ field: String, _ limit: Int) throws(EmbeddingKitError) {
            guard values.count == orders.count else {
                throw fail("\(name(field)): \(values.count) values for \(orders.count) n-gram orders")
            }
            for (i, v) in values.enumerated() where !(1...limit).contains(v) {
                throw fail("\(name(field)): \(v) at position \(i) is outside 1...\(limit)")
            }
        }
        try checkList(buckets, "buckets", Limits.maxBuckets)
        try checkList(dimensions, "dimensions", Limits.maxDimension)
        guard (1...Limits.maxHidden).contains(hidden) else {
            throw fail("\(name("hidden")): \(hidden) is outside 1...\(Limits.maxHidden)")
        }
        let outputs = Swift.min(Swift.max(languages.count, 2), Limits.maxLanguages)
        var shape = self
        shape.languages = Array(repeating: "", count: outputs)
        let count = shape.parameterCount
        guard count <= Limits.maxParameters else {
            throw fail("\(name("buckets")) × \(name("dimensions")) and \(name("hidden")): the model would have \(count) parameters, "
                       + "more than the limit of \(Limits.maxParameters) (1 GiB of float32)")
        }
    }

    /// Checks n-gram orders alone: at least one, distinct, each in `-1...Limits.maxOrder` (0: the bag
    /// of whole words, `NGramFeaturizer.wordOrder`; -1: of letters outside ASCII, `letterOrder`).
    public static func validateOrders(_ orders: [Int], naming name: (String) -> String = { $0 }) throws(EmbeddingKitError) {
        func fail(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, message) }
        guard !orders.isEmpty else { throw fail("\(name("orders")): at least one n-gram order is needed") }
        guard orders.count <= Limits.maxOrder + 2 else {
            throw fail("\(name("orders")): \(orders.count) orders, at most \(Limits.maxOrder + 2) (distinct values in -1...\(Limits.maxOrder))")
        }
        for (i, n) in orders.enumerated() {
            guard (-1...Limits.maxOrder).contains(n) else {
                throw fail("\(name("orders")): order \(n) at position \(i) is outside -1...\(Limits.maxOrder) (0: whole words, -1: letters outside ASCII)")
            }
            if let first = orders[..<i].firstIndex(of: n) {
                throw fail("\(name("orders")): order \(n) at position \(i) repeats position \(first) (orders must be distinct)")
            }
        }
    }

    /// Checks the language list: `2...maxLanguages` distinct codes of 1 to 32 bytes without commas,
    /// whitespace or control characters.
    public func validateLanguages(naming name: (String) -> String = { $0 }) throws(EmbeddingKitError) {
        func fail(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, message) }
        let field = name("languages")
        guard languages.count >= 2 else {
            throw fail("\(field): \(languages.count) language(s) \(languages); a language identifier needs at least two")
        }
        guard languages.count <= Limits.maxLanguages else {
            throw fail("\(field): \(languages.count) languages, at most \(Limits.maxLanguages)")
        }
        var seen: [String: Int] = [:]
        for (i, code) in languages.enumerated() {
            let bad = code.unicodeScalars.contains { $0 == "," || $0.properties.isWhitespace || $0.value < 0x20 || (0x7F..<0xA0).contains($0.value) }
            guard !code.isEmpty, code.utf8.count <= Limits.maxLanguageCodeBytes, !bad else {
                throw fail("\(field): code '\(code)' at position \(i) is not 1 to \(Limits.maxLanguageCodeBytes) bytes "
                           + "without commas, spaces or control characters")
            }
            if let first = seen[code] {
                throw fail("\(field): '\(code)' at position \(i) repeats position \(first) (languages must be distinct)")
            }
            seen[code] = i
        }
    }

    /// The featurizer these orders and buckets describe.
    public var featurizer: NGramFeaturizer {
        get throws(EmbeddingKitError) { try NGramFeaturizer(orders: orders, buckets: buckets) }
    }
}
