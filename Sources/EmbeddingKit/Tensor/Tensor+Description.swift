import Foundation

/// PyTorch's printed form (`torch/_tensor_str.py` with the default print options: precision 4,
/// threshold 1000, edgeitems 3, linewidth 80), so that a PyTorch user reads EmbeddingKit's output as
/// PyTorch's own: `tensor([[ 0.0136, -0.0095], [...]])`, integral floats as `1.`, scientific notation
/// when magnitudes span a wide range, rows wrapped at 80 columns, large tensors summarised with `...`.
extension Tensor: CustomStringConvertible {
    /// The tensor as PyTorch prints it, for example
    /// `tensor([[ 1.2580, -0.8463]], grad_fn=<EmbeddingBackward0>)`: the elements, then `size=` for an
    /// empty tensor of rank other than 1, `dtype=torch.int64` for an empty index tensor, and
    /// `grad_fn` for a result of a recorded operation or `requires_grad=True` for a leaf that requires a
    /// gradient. A suffix that would pass column 80 starts a new line (`_add_suffixes`).
    public var description: String {
        var suffixes: [String] = []
        let body: String
        if dtype.isHalf {
            // PyTorch prints a half tensor's values as floats, then its dtype
            body = count == 0 ? "[]" : widened().formatted(indent: 7)
            if count == 0 && rank != 1 { suffixes.append("size=(" + shape.map(String.init).joined(separator: ", ") + ")") }
            suffixes.append(dtype == .float16 ? "dtype=torch.float16" : "dtype=torch.bfloat16")
        } else if count == 0 {
            // _str_intern: the shape is printed unless it is (0,); an empty tensor shows no values to
            // tell int64 from float, so the dtype is named
            if rank != 1 { suffixes.append("size=(" + shape.map(String.init).joined(separator: ", ") + ")") }
            if dtype == .int64 { suffixes.append("dtype=torch.int64") }
            body = "[]"
        } else {
            body = formatted(indent: 7)
        }
        if let name = gradFunctionName { suffixes.append("grad_fn=<\(name)>") }
        else if requiresGrad { suffixes.append("requires_grad=True") }
        return Tensor.addingSuffixes("tensor(" + body, suffixes, indent: 7)
    }

    /// `_add_suffixes`: each suffix follows `, ` on the last line, or starts a new line indented by
    /// `indent` when the line would pass 80 columns. The last line's length is counted as PyTorch
    /// counts it (`len - rfind("\n") + 1`, two more than the visible length after a line break).
    static func addingSuffixes(_ text: String, _ suffixes: [String], indent: Int) -> String {
        let bytes = Array(text.utf8)
        var lastLine = bytes.count - (bytes.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
        var out = text
        for suffix in suffixes {
            if lastLine + suffix.utf8.count + 2 > 80 {
                out += ",\n" + String(repeating: " ", count: indent) + suffix
                lastLine = indent + suffix.utf8.count
            } else {
                out += ", " + suffix
                lastLine += suffix.utf8.count + 2
            }
        }
        return out + ")"
    }

    /// The bracketed elements (`_tensor_str`), continuation lines indented by `indent` columns.
    func formatted(indent: Int) -> String {
        if count == 0 { return "[]" }
        let summarise = count > 1000
        let formatter = ElementFormatter(self, offsets: visibleOffsets(summarise: summarise))
        if rank == 0 { return formatter.format(at: 0) }
        return render(dim: 0, offset: 0, indent: indent, summarise: summarise, formatter: formatter)
    }

    /// Row-major offsets of the elements that are printed (all, or the summarised corners):
    /// `get_summarized_data`, from which the formatter takes its style and width.
    private func visibleOffsets(summarise: Bool) -> [Int] {
        var out: [Int] = []
        func walk(_ dim: Int, _ base: Int) {
            if dim == rank { out.append(base); return }
            let stride = shape[(dim + 1)...].reduce(1, *)
            for i in shownIndices(dim, summarise) { walk(dim + 1, base + i * stride) }
        }
        walk(0, 0)
        return out
    }

    private func shownIndices(_ dim: Int, _ summarise: Bool) -> [Int] {
        let n = shape[dim]
        return summarise && n > 6 ? Array(0..<3) + Array((n - 3)..<n) : Array(0..<n)
    }

    /// `_tensor_str_with_formatter` and `_vector_str`.
    private func render(dim: Int, offset: Int, indent: Int, summarise: Bool, formatter: ElementFormatter) -> String {
        let n = shape[dim], step = shape[(dim + 1)...].reduce(1, *)
        let shown = shownIndices(dim, summarise)
        let gap = summarise && n > 6
        if dim == rank - 1 {
            // each element takes its width plus ", "; the summary mark " ..." is one element, not padded
            let perLine = Swift.max(1, (80 - indent) / (formatter.width + 2))
            var items = shown.map { formatter.format(at: offset + $0) }
            if gap { items.insert(" ...", at: 3) }
            let lines = stride(from: 0, to: items.count, by: perLine).map {
                items[$0..<Swift.min($0 + perLine, items.count)].joined(separator: ", ")
            }
            return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
        }
        var parts = shown.map { render(dim: dim + 1, offset: offset + $0 * step, indent: indent + 1, summarise: summarise,
                                       formatter: formatter) }
        if gap { parts.insert("...", at: 3) }
        let separator = "," + String(repeating: "\n", count: rank - dim - 1) + String(repeating: " ", count: indent + 1)
        return "[" + parts.joined(separator: separator) + "]"
    }
}

/// `_Formatter`: one style and one width for every element printed. Integers print as they are;
/// floats print as integers with a dot when every non-zero finite value is integral (`int_mode`), in
/// `%.4e` when the non-zero finite magnitudes span more than 1000x, pass 1e8 or (non-integral) fall
/// below 1e-4, and in `%.4f` otherwise. Only non-zero finite values set the width: `0.`, `-0.`,
/// `nan` and `inf` are padded to it but never widen it.
private struct ElementFormatter {
    enum Style { case integer, intMode, scientific, fixed }
    let tensor: Tensor
    let style: Style
    let width: Int

    init(_ tensor: Tensor, offsets: [Int]) {
        self.tensor = tensor
        if tensor.dtype == .int64 {
            style = .integer
            width = offsets.map { String(tensor.ints[$0]).count }.max() ?? 1
            return
        }
        let values = offsets.map { tensor.floats[$0] }.filter { $0.isFinite && $0 != 0 }
        guard !values.isEmpty else { style = .intMode; width = 1; return }
        let magnitudes = values.map { abs(Double($0)) }
        let largest = magnitudes.max()!, smallest = magnitudes.min()!
        let wide = largest / smallest > 1000 || largest > 1e8
        if values.allSatisfy({ $0 == $0.rounded(.up) }) {
            style = wide ? .scientific : .intMode
        } else {
            style = wide || smallest < 1e-4 ? .scientific : .fixed
        }
        let s = style
        width = values.map { ElementFormatter.text(Double($0), s).count }.max()!
    }

    /// The element at `offset`, right-aligned to the common width.
    func format(at offset: Int) -> String {
        let text = style == .integer ? String(tensor.ints[offset]) : ElementFormatter.text(Double(tensor.floats[offset]), style)
        return String(repeating: " ", count: Swift.max(0, width - text.count)) + text
    }

    /// Python's `{:.0f}` (plus the dot), `{:.4e}` or `{:.4f}` of `v`; NaN and infinities as Python
    /// writes them (`nan` whatever its sign bit, `inf`, `-inf`, no dot).
    static func text(_ v: Double, _ style: Style) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        switch style {
        case .intMode: return String(format: "%.0f.", v)
        case .scientific: return String(format: "%.4e", v)
        case .fixed, .integer: return String(format: "%.4f", v)
        }
    }
}
