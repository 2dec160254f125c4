import CKernels

/// The names `Module.loadStateDict(_:strict:)` could not match, PyTorch's `_IncompatibleKeys`.
public struct StateDictKeys: Equatable, Sendable {
    /// Parameters of the module that the state dictionary does not have, sorted.
    public let missing: [String]
    /// Entries of the state dictionary that name no parameter of the module, sorted.
    public let unexpected: [String]

    /// Both lists, as found.
    public init(missing: [String], unexpected: [String]) {
        self.missing = missing
        self.unexpected = unexpected
    }
}

extension Module {
    /// Every parameter by its dotted path (`namedParameters()`), as a snapshot: detached tensors
    /// holding the current values, which later training does not change. PyTorch's `state_dict()`.
    public func stateDict() -> [String: Tensor] {
        var state = [String: Tensor]()
        for (name, tensor) in namedParameters() where state[name] == nil { state[name] = tensor.detach() }
        return state
    }

    /// Copies `state`'s values into this module's parameters, in place (the parameter tensors, and
    /// so every optimizer holding them, stay the same objects). PyTorch's `load_state_dict`.
    ///
    /// Everything is checked before any value is copied, so a call that throws has changed no
    /// weight: with `strict`, every parameter must have an entry and every entry a parameter
    /// (`invalidArgument`, listing the names); for every parameter that has an entry, strict or not,
    /// the dtype (`invalidArgument`) and the shape (`shape`) must match. Gradients and `requiresGrad`
    /// are left as they are.
    ///
    /// Float types convert into the parameter's (``TableStorage``): a float16 / bfloat16 value into a
    /// parameter of the same type is copied bit for bit; a float32 value into a half table is
    /// rounded to the nearest half (ties to even, as PyTorch's `.to(torch.bfloat16)`), a half value
    /// into a float32 parameter widened exactly, a float16 value into a bfloat16 table (or the
    /// reverse) widened and rounded to the nearest. Float and int64 do not mix.
    ///
    /// - Returns: the names that did not match (both lists empty after a strict load).
    @discardableResult
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws(EmbeddingKitError) -> StateDictKeys {
        var parameters = [(name: String, tensor: Tensor)]()
        var known = Set<String>()
        for p in namedParameters() where known.insert(p.name).inserted { parameters.append(p) }
        let missing = parameters.map(\.name).filter { state[$0] == nil }.sorted()
        let unexpected = state.keys.filter { !known.contains($0) }.sorted()
        if strict && !(missing.isEmpty && unexpected.isEmpty) {
            var parts = [String]()
            if !unexpected.isEmpty { parts.append("unexpected \(names(unexpected)) (not parameters of this module)") }
            if !missing.isEmpty { parts.append("missing \(names(missing))") }
            throw EmbeddingKitError(.invalidArgument,
                "loadStateDict: \(parts.joined(separator: "; ")); the module's parameters are \(names(parameters.map(\.name).sorted())); nothing was loaded")
        }
        var pairs = [(target: Tensor, source: Tensor)]()
        var dtypeErrors = [String](), shapeErrors = [String]()
        for (name, target) in parameters.sorted(by: { $0.name < $1.name }) {
            guard let source = state[name] else { continue }
            if (source.dtype == .int64) != (target.dtype == .int64) {
                dtypeErrors.append("\(quoted(name)) is \(source.dtype) in the state dictionary, \(target.dtype) in the module")
            } else if source.shape != target.shape {
                shapeErrors.append("\(quoted(name)) has shape \(source.shape) in the state dictionary, \(target.shape) in the module")
            } else {
                pairs.append((target, source))
            }
        }
        if !dtypeErrors.isEmpty || !shapeErrors.isEmpty {
            throw EmbeddingKitError(dtypeErrors.isEmpty ? .shape : .invalidArgument,
                                    "loadStateDict: \((dtypeErrors + shapeErrors).joined(separator: "; ")); nothing was loaded")
        }
        for (target, source) in pairs where target !== source {
            if target.dtype == .int64 {
                let values = source.ints
                target.ints.withUnsafeMutableBufferPointer { dst in
                    values.withUnsafeBufferPointer { src in
                        if let d = dst.baseAddress, let s = src.baseAddress { d.update(from: s, count: src.count) }
                    }
                }
            } else if target.dtype == source.dtype && target.dtype.isHalf {
                let n = target.count
                source.withTableData { src in target.withMutableTableData { $0.copyMemory(from: src, byteCount: 2 * n) } }
            } else if target.dtype.isHalf {
                let values = source.widened().floats
                values.withPointer { src in
                    target.withMutableTableData { dst in
                        mustSucceed(ek_half_from_f32(target.dtype.tableType, Int64(values.count), src,
                                                     dst.assumingMemoryBound(to: UInt16.self)), "loadStateDict")
                    }
                }
            } else {
                let values = source.widened().floats
                target.floats.withUnsafeMutableBufferPointer { dst in
                    values.withUnsafeBufferPointer { src in
                        if let d = dst.baseAddress, let s = src.baseAddress { d.update(from: s, count: src.count) }
                    }
                }
            }
        }
        return StateDictKeys(missing: missing, unexpected: unexpected)
    }

    /// Writes `stateDict()` to a safetensors file at `path`, with `metadata` in its header, atomically
    /// (see ``SafeTensors/write(to:)``): a crash or a failed write leaves the previous file whole, and a
    /// failure throws `io` naming the path, the step and the system's reason. PyTorch reads the file
    /// with `safetensors.torch.load_file`.
    public func save(to path: String, metadata: [String: String] = [:]) throws(EmbeddingKitError) {
        try SafeTensors(tensors: stateDict(), metadata: metadata).write(to: path)
    }

    /// Reads the safetensors file at `path` (PyTorch's `save_file` output included) and loads it with
    /// `loadStateDict(_:strict:)`: F16 and BF16 tensors are read as they are (2 bytes per element), so
    /// a bfloat16 checkpoint loads into a bfloat16 table without widening, and into a float32
    /// parameter widened exactly; an F32 tensor into a half table is rounded to the nearest half.
    /// A file that fails validation, or does not match the module, throws with the path in the
    /// message and changes no weight.
    @discardableResult
    public func load(from path: String, strict: Bool = true) throws(EmbeddingKitError) -> StateDictKeys {
        let file = try SafeTensors(contentsOf: path, keepingHalfPrecision: true)
        do {
            return try loadStateDict(file.tensors, strict: strict)
        } catch {
            throw EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
    }
}

private func names(_ list: [String]) -> String {
    let shown = list.prefix(20).map(quoted).joined(separator: ", ")
    return list.count > 20 ? "\(shown), ... (\(list.count) in all)" : shown
}
