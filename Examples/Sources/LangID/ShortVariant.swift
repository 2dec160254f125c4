/// The start of `text`, at most `maxCharacters` characters long, cut at a word boundary: the "short"
/// test variant, where language identification is hard.
///
/// - A text of at most `maxCharacters` characters is returned unchanged; `maxCharacters <= 0` gives "".
/// - Otherwise the cut is at the last space within the first `maxCharacters + 1` characters (a space
///   right after the limit means the first `maxCharacters` characters end a word), and the trailing
///   space is dropped: `"The quick brown fox"` with 12 gives `"The quick"`.
/// - When there is no space in that range (a long word, or a script written without spaces such as
///   Chinese) the text is cut hard after `maxCharacters` characters.
///
/// Characters are `Character`s (grapheme clusters), so a letter with a combining accent is never
/// split from its accent. Leading spaces are ignored; the corpus's samples have none.
public func shortVariant(of text: String, maxCharacters: Int = 40) -> String {
    guard maxCharacters > 0 else { return "" }
    let trimmed = text.drop(while: { $0 == " " })
    guard let limit = trimmed.index(trimmed.startIndex, offsetBy: maxCharacters, limitedBy: trimmed.endIndex),
          limit < trimmed.endIndex else {
        return String(trimmed)
    }
    // `limit` is the index of character number maxCharacters + 1 (0-based maxCharacters).
    var cut = trimmed.index(after: limit)
    while cut > trimmed.startIndex {
        let before = trimmed.index(before: cut)
        if trimmed[before].isWhitespace { break }
        cut = before
    }
    if cut == trimmed.startIndex { return String(trimmed[..<limit]) }     // no space: hard cut
    var end = trimmed.index(before: cut)                                   // the space itself
    while end > trimmed.startIndex, trimmed[trimmed.index(before: end)].isWhitespace {
        end = trimmed.index(before: end)
    }
    return String(trimmed[..<end])
}
