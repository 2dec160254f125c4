/// The suffix rules (`SFX`) of a hunspell `.aff`, to turn a `.dic` stem into its inflected forms.
///
/// Why: the Slovak and Czech dictionaries list lemmas (`napísať`, `potrebný`), but running text is
/// inflected (`napíš`, `potrebného`, `riadku`). Trained on lemmas, the model met Slovak endings only
/// in 236 fortunes and read real Slovak as Czech, whose inflected forms it knew from 5,500
/// fortunes. Both languages' lists are expanded alike, so neither gains an unfair edge.
///
/// Supported: `SFX flag cross count` blocks with `SFX flag strip add condition [morphology]` rules
/// (`0` = nothing; continuation flags after `/` in `add` are ignored: one level of suffixes);
/// conditions of plain characters, `.` and `[...]` / `[^...]` sets, matched at the end of the stem;
/// flags of one character (the default and `FLAG UTF-8`) or two (`FLAG long`). Prefixes (`PFX`) are
/// not applied: Slovak and Czech inflect at the end. Like hunspell's `unmunch` it can make a few
/// forms the language does not use; they still carry its letters and endings.
public struct HunspellSuffixes: Sendable {
    struct Rule: Sendable {
        let strip: [Unicode.Scalar]
        let add: String
        /// Per position from the left; nil = any character; else (negated, set).
        let condition: [(negated: Bool, set: Set<Unicode.Scalar>)?]
    }

    /// Rules by flag.
    let rules: [String: [Rule]]
    /// Characters per flag: 1 or 2 (`FLAG long`).
    let flagWidth: Int

    /// Parses the decoded text of an `.aff`. Throws `malformedSource` (naming `path`) for a flag
    /// type it cannot read (`FLAG num`) or a rule line with too few fields.
    public init(affixText text: String, path: String) throws(CorpusError) {
        var rules: [String: [Rule]] = [:], width = 1
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = fields.first else { continue }
            if keyword == "FLAG", fields.count >= 2 {
                switch fields[1] {
                case "long": width = 2
                case "UTF-8": width = 1
                default: throw .malformedSource(path: path, reason: "FLAG \(fields[1]) is not supported for suffix expansion")
                }
            }
            guard keyword == "SFX" else { continue }
            guard fields.count >= 4 else { throw .malformedSource(path: path, reason: "SFX line with \(fields.count) fields: \(line.prefix(60))") }
            if fields.count == 4 && Int(fields[3]) != nil && (fields[2] == "Y" || fields[2] == "N") { continue }   // block header
            guard fields.count >= 5 else { throw .malformedSource(path: path, reason: "SFX rule without a condition: \(line.prefix(60))") }
            let strip = fields[2] == "0" ? [] : Array(fields[2].unicodeScalars)
            var add = fields[3].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if add == "0" { add = "" }
            rules[fields[1], default: []].append(Rule(strip: strip, add: add, condition: Self.condition(fields[4])))
        }
        self.rules = rules
        flagWidth = width
    }

    /// `.` → any; `[abc]`, `[^abc]` → a set; a character → itself.
    static func condition(_ text: String) -> [(negated: Bool, set: Set<Unicode.Scalar>)?] {
        if text == "." { return [] }
        var result: [(negated: Bool, set: Set<Unicode.Scalar>)?] = []
        var scalars = text.unicodeScalars.makeIterator()
        while let c = scalars.next() {
            switch c {
            case ".": result.append(nil)
            case "[":
                var set = Set<Unicode.Scalar>(), negated = false, first = true
                while let d = scalars.next(), d != "]" {
                    if first && d == "^" { negated = true } else { set.insert(d) }
                    first = false
                }
                result.append((negated, set))
            default: result.append((false, [c]))
            }
        }
        return result
    }

    /// The forms `stem` takes with `flags` (the text after its `/`), without `stem` itself, in rule order.
    public func forms(of stem: String, flags: String) -> [String] {
        let scalars = Array(stem.unicodeScalars)
        var result: [String] = []
        let flagScalars = Array(flags.unicodeScalars)
        var i = 0
        while i + flagWidth <= flagScalars.count {
            var flag = String.UnicodeScalarView()
            flag.append(contentsOf: flagScalars[i..<i + flagWidth])
            i += flagWidth
            for rule in rules[String(flag)] ?? [] where matches(rule, scalars) {
                var form = String.UnicodeScalarView()
                form.append(contentsOf: scalars[..<(scalars.count - rule.strip.count)])
                result.append(String(form) + rule.add)
            }
        }
        return result
    }

    func matches(_ rule: Rule, _ scalars: [Unicode.Scalar]) -> Bool {
        guard scalars.count > rule.strip.count, scalars.count >= rule.condition.count,
              scalars.suffix(rule.strip.count).elementsEqual(rule.strip) else { return false }
        let start = scalars.count - rule.condition.count
        for (k, test) in rule.condition.enumerated() {
            guard let test else { continue }
            if test.set.contains(scalars[start + k]) == test.negated { return false }
        }
        return true
    }
}
