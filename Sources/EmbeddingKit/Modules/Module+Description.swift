/// Printing modules as PyTorch's `nn.Module.__repr__` does: the type name, `extraDescription` (PyTorch's
/// `extra_repr`) in parentheses, and each child on its own line as `(name): ...`, indented two
/// spaces per level; children named `list.0`, `list.1`, ... print as PyTorch's `ModuleList`, with
/// repeated identical entries folded (`(0-1): 2 x TransformerEncoderLayer(...)`).
///
/// ```swift
/// print(try EmbeddingBag(count: 10, dimension: 3, mode: .sum))   // EmbeddingBag(10, 3, mode='sum')
/// ```
extension Module {
    /// The module's settings in PyTorch's `extra_repr` form; empty by default. Custom modules may
    /// return their own (e.g. `"hidden=64"`), which `description` puts in the parentheses.
    public var extraDescription: String { "" }

    /// The name printed for the module: its Swift type's name.
    public var typeName: String { String(describing: type(of: self)) }

    /// The module tree as PyTorch prints it, e.g.
    /// `Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): ReLU()\n)`.
    public var description: String { ModuleDescription.describe(self, as: typeName) }
}

enum ModuleDescription {
    static func describe(_ m: any Module, as name: String) -> String {
        let extra = m.extraDescription
        let extraLines = extra.isEmpty ? [] : extra.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var childLines = [String]()
        var pending = [(name: String, text: String)]()   // a run of `list.i` children
        var listName: String?
        func flush() {
            if let listName { childLines.append("(\(listName)): " + indent(moduleList(pending.map(\.text)), 2)) }
            (listName, pending) = (nil, [])
        }
        for (key, child) in m.children {
            // MultiheadAttention's out_proj is this Linear subclass in PyTorch
            let childName = m is MultiheadAttention && key == "out_proj" ? "NonDynamicallyQuantizableLinear" : child.typeName
            let text = describe(child, as: childName)
            if let dot = key.lastIndex(of: "."), let index = Int(key[key.index(after: dot)...]) {
                let prefix = String(key[..<dot])
                if prefix != listName || index != pending.count { flush() }
                if pending.isEmpty && index == 0 { listName = prefix; pending.append((key, text)); continue }
                if listName == prefix { pending.append((key, text)); continue }
            }
            flush()
            childLines.append("(\(key)): " + indent(text, 2))
        }
        flush()
        let lines = extraLines + childLines
        var out = name + "("
        if extraLines.count == 1 && childLines.isEmpty {
            out += extraLines[0]
        } else if !lines.isEmpty {
            out += "\n  " + lines.joined(separator: "\n  ") + "\n"
        }
        return out + ")"
    }

    /// PyTorch's `ModuleList.__repr__`: consecutive equal entries folded into `(i-j): n x ...`.
    static func moduleList(_ texts: [String]) -> String {
        guard !texts.isEmpty else { return "ModuleList()" }
        var blocks = [(start: Int, end: Int, text: String)]()
        for (i, t) in texts.enumerated() {
            if let last = blocks.last, last.text == t { blocks[blocks.count - 1].end = i } else { blocks.append((i, i, t)) }
        }
        let lines = blocks.map { b in
            indent(b.start == b.end ? "(\(b.start)): \(b.text)" : "(\(b.start)-\(b.end)): \(b.end - b.start + 1) x \(b.text)", 2)
        }
        return "ModuleList(\n  " + lines.joined(separator: "\n  ") + "\n)"
    }

    /// PyTorch's `_addindent`: every line but the first indented by `spaces`.
    static func indent(_ s: String, _ spaces: Int) -> String {
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return s }
        let pad = String(repeating: " ", count: spaces)
        return ([String(lines[0])] + lines.dropFirst().map { pad + $0 }).joined(separator: "\n")
    }

    /// A Python float's `repr` for a value given as a decimal literal (`1.0`, `0.1`, `1e-05`).
    static func python(_ x: Float) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return x.description
    }

    static func python(_ b: Bool) -> String { b ? "True" : "False" }
}

// The built-in modules' `extra_repr`, as in torch/nn/modules/*.py.

extension Linear {
    /// `in_features=3, out_features=4, bias=True`.
    public var extraDescription: String {
        "in_features=\(weight.shape[1]), out_features=\(weight.shape[0]), bias=\(ModuleDescription.python(bias != nil))"
    }
}

extension Embedding {
    /// `10, 3` then, when not the default, `padding_idx`, `max_norm`, `norm_type`,
    /// `scale_grad_by_freq`, `sparse=True`.
    public var extraDescription: String {
        var s = "\(count), \(dimension)"
        if let paddingIndex { s += ", padding_idx=\(paddingIndex)" }
        if let maxNorm { s += ", max_norm=\(ModuleDescription.python(maxNorm))" }
        if normType != 2 { s += ", norm_type=\(ModuleDescription.python(normType))" }
        if scaleGradByFrequency { s += ", scale_grad_by_freq=True" }
        if sparse { s += ", sparse=True" }
        return s
    }
}

extension EmbeddingBag {
    /// `10, 3`, `max_norm`, `norm_type`, `scale_grad_by_freq` when not the default, `mode='sum'`,
    /// then `padding_idx` when set (PyTorch prints neither `sparse` nor `include_last_offset`).
    public var extraDescription: String {
        var s = "\(weight.shape[0]), \(weight.shape[1])"
        if let maxNorm { s += ", max_norm=\(ModuleDescription.python(maxNorm))" }
        if normType != 2 { s += ", norm_type=\(ModuleDescription.python(normType))" }
        if scaleGradByFrequency { s += ", scale_grad_by_freq=True" }
        s += ", mode='\(mode == .sum ? "sum" : mode == .mean ? "mean" : "max")'"
        if let paddingIndex { s += ", padding_idx=\(paddingIndex)" }
        return s
    }
}

extension LayerNorm {
    /// `(4,), eps=1e-05, elementwise_affine=True`.
    public var extraDescription: String {
        let shape = normalizedShape.count == 1 ? "(\(normalizedShape[0]),)" : "(" + normalizedShape.map(String.init).joined(separator: ", ") + ")"
        return "\(shape), eps=\(ModuleDescription.python(eps)), elementwise_affine=\(ModuleDescription.python(weight != nil))"
    }
}

extension Dropout {
    /// `p=0.1, inplace=False`.
    public var extraDescription: String { "p=\(ModuleDescription.python(p)), inplace=False" }
}

extension GELU {
    /// `approximate='none'` or `approximate='tanh'`.
    public var extraDescription: String { "approximate='\(approximate == .none ? "none" : "tanh")'" }
}

extension Softmax {
    /// `dim=-1`.
    public var extraDescription: String { "dim=\(dim)" }
}
