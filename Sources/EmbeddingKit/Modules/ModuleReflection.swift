/// Finds a module's parameters and child modules from its stored properties, as mlx-swift does, so
/// that a custom module need not list them: float32 `Tensor` properties are parameters, `Module`
/// properties are children, each named after its property; optionals count when set, and arrays
/// give `name.0`, `name.1`, ... (PyTorch's `ModuleList` / `ParameterList` names).
enum ModuleReflection {
    /// The parameters and children found in `module`'s stored properties (superclasses' first), in
    /// declaration order.
    static func members(of module: any Module)
        -> (parameters: [(name: String, tensor: Tensor)], children: [(name: String, module: any Module)]) {
        var parameters = [(name: String, tensor: Tensor)](), children = [(name: String, module: any Module)]()
        var mirrors = [Mirror]()
        var mirror: Mirror? = Mirror(reflecting: module)
        while let m = mirror { mirrors.insert(m, at: 0); mirror = m.superclassMirror }
        for m in mirrors {
            for child in m.children {
                // `$__lazy_storage_$_x` and the like are the compiler's, not the user's properties
                guard let label = child.label, !label.contains("$") else { continue }
                collect(child.value, label, module, &parameters, &children)
            }
        }
        return (parameters, children)
    }

    private static func collect(_ value: Any, _ name: String, _ owner: any Module,
                                _ parameters: inout [(name: String, tensor: Tensor)],
                                _ children: inout [(name: String, module: any Module)]) {
        if let t = value as? Tensor {
            if t.dtype == .float32 { parameters.append((name, t)) }   // int64 tensors cannot be trained
            return
        }
        if let m = value as? any Module {
            if m !== owner { children.append((name, m)) }
            return
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let wrapped = mirror.children.first { collect(wrapped.value, name, owner, &parameters, &children) }
        case .collection:
            for (i, element) in mirror.children.enumerated() { collect(element.value, "\(name).\(i)", owner, &parameters, &children) }
        default:
            break
        }
    }

    /// The float tensors reachable through `module`'s stored properties (its own, and recursively
    /// those of the modules it holds) that `namedParameters()` does not return: parameters a
    /// hand-written `directParameters` / `children` list left out.
    static func unlisted(in module: any Module) -> [String] {
        var listed = Set(module.namedParameters(checked: false).map { ObjectIdentifier($0.tensor) })
        var missing = [String]()
        func walk(_ m: any Module, _ prefix: String, _ depth: Int) {
            guard depth < 32 else { return }   // a module that (indirectly) holds its parent
            let found = members(of: m)
            for (name, t) in found.parameters where listed.insert(ObjectIdentifier(t)).inserted {
                missing.append(prefix + name)
            }
            for (name, child) in found.children { walk(child, prefix + name + ".", depth + 1) }
        }
        walk(module, "", 0)
        return missing
    }
}
