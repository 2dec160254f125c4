import Foundation

/// PyTorch's printed form, so that a PyTorch user can read EmbeddingKit's output:
/// `tensor([[0.0136, 0.0095], [...]])`, integral floats as `1.`, scientific notation when magnitudes
/// span a wide range, rows wrapped at 80 columns, and large tensors summarised with `...`.
extension Tensor: CustomStringConvertible {
    /// The tensor as PyTorch prints it, for example
    /// `tensor([[ 1.2580, -0.8463]], grad_fn=<EmbeddingBackward>)`: the elements, then `grad_fn` for a
    /// result of a recorded operation or `requires_grad=True` for a leaf that requires a gradient.
    public var description: String {
        var suffix = ""
        if let name = gradFunctionName { suffix = ", grad_fn=<\(name)>" }
        else if requiresGrad { suffix = ", requires_grad=True" }
        return "tensor(" + formatted(indent: 7) + suffix + ")"
    }

    /// The bracketed elements, continuation lines indented by `indent` columns.
    func formatted(indent: Int) -> String {
        if rank == 0 { return elementStrings([0])[0] }
        if count == 0 { return "[]" }
        let summarise = count > 1000
        let strings = elementStrings(visibleOffsets(summarise: summarise))
        let width = strings.map(\.count).max() ?? 0
        var next = 0
        return render(dim: 0, offset: 0, indent: indent, width: width, summarise: summarise) {
            defer { next += 1 }
            return String(repeating: " ", count: width - strings[next].count) + strings[next]
        }
    }

    /// Row-major offsets of the elements that are printed (all, or the summarised corners).
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

    private func render(dim: Int, offset: Int, indent: Int, width: Int, summarise: Bool, next: () -> String) -> String {
        let n = shape[dim], shown = shownIndices(dim, summarise)
        let gap = summarise && n > 6
        if dim == rank - 1 {
            let perLine = Swift.max(1, (80 - indent - 1) / (width + 2))
            var items = shown.map { _ in next() }
            if gap { items.insert(String(repeating: " ", count: Swift.max(0, width - 3)) + "...", at: 3) }
            var lines: [String] = []
            var i = 0
            while i < items.count {
                lines.append(items[i..<min(i + perLine, items.count)].joined(separator: ", "))
                i += perLine
            }
            return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
        }
        let stride = shape[(dim + 1)...].reduce(1, *)
        var parts = shown.map { render(dim: dim + 1, offset: offset + $0 * stride, indent: indent + 1, width: width,
                                       summarise: summarise, next: next) }
        if gap { parts.insert("...", at: 3) }
        let separator = "," + String(repeating: "\n", count: rank - dim - 1) + String(repeating: " ", count: indent + 1)
        return "[" + parts.joined(separator: separator) + "]"
    }

    /// The printed form of each element at `offsets`, in one style for the whole tensor.
    private func elementStrings(_ offsets: [Int]) -> [String] {
        if dtype == .int64 { return offsets.map { String(ints[$0]) } }
        let values = offsets.map { floats[$0] }
        let finite = values.filter { $0.isFinite }
        let magnitudes = finite.map { abs($0) }.filter { $0 > 0 }
        let integral = finite.allSatisfy { $0 == $0.rounded() }
        let largest = magnitudes.max() ?? 0, smallest = magnitudes.min() ?? 0
        let scientific = !integral && (largest >= 1e8 || smallest < 1e-4 || largest / smallest > 1000)
        return values.map { v in
            if v.isNaN { return "nan" }
            if v.isInfinite { return v > 0 ? "inf" : "-inf" }
            if integral && largest < 1e8 { return String(format: "%.0f.", Double(v)) }
            return String(format: scientific ? "%.4e" : "%.4f", Double(v))
        }
    }
}
