/// A layer or model: it owns parameters (tensors that require gradients), may contain child
/// modules, and switches between training and evaluation behaviour. PyTorch's `nn.Module`.
///
/// **Thread safety.** Modules are classes without locks. A forward pass only reads the parameters
/// (whether gradients are recorded or not: the graph hangs off the outputs), so one module may run
/// forward passes from several threads at once, with the same results as serial calls — except where
/// a type says otherwise: `Embedding` and `EmbeddingBag` with `maxNorm` rescale rows in place, and
/// dropout in training mode draws from a shared `Generator` (safe, but the masks depend on the order
/// of the calls). Not thread-safe, and never to overlap any other use of the module: training —
/// `backward()` through an output (it accumulates into the parameters' `grad`), an optimizer step,
/// `zeroGrad()` — loading weights (`load(from:)`, `loadStateDict(_:)`), and switching modes with
/// `train(_:)` / `eval()` or `isTraining`.
public protocol Module: AnyObject, CustomStringConvertible {
    /// This module's own parameters with their names (children's are added by `namedParameters`).
    /// By default, found by reflection: every float32 `Tensor` stored property (set optionals,
    /// array elements as `name.0`, ...), named after the property. Write it out to choose other
    /// names or to keep a float tensor out of the parameters.
    var directParameters: [(name: String, tensor: Tensor)] { get }
    /// The child modules with their names. By default, found by reflection: every stored property
    /// holding a `Module` (set optionals, array elements as `name.0`, ...), named after the property.
    var children: [(name: String, module: any Module)] { get }
    /// Whether the module is in training mode (dropout active, ...).
    var isTraining: Bool { get set }
    /// The module's settings as PyTorch's `extra_repr` prints them (`in_features=3, ...`); empty by default.
    var extraDescription: String { get }
}

extension Module {
    /// The float32 `Tensor` stored properties, by property name (see the requirement).
    public var directParameters: [(name: String, tensor: Tensor)] { ModuleReflection.members(of: self).parameters }

    /// The `Module` stored properties, by property name (see the requirement).
    public var children: [(name: String, module: any Module)] { ModuleReflection.members(of: self).children }

    /// Every parameter with its dotted path, e.g. `embed.weight`.
    ///
    /// In debug builds this also checks hand-written lists: a float tensor reachable through the
    /// module's stored properties that no list returns — a child or parameter left out, which would
    /// silently drop out of training and checkpoints — stops the program with its path. Keep a float
    /// tensor that is not a parameter in a computed property, or in a non-`Module` wrapper type.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        assert({ () -> Bool in
            let missing = ModuleReflection.unlisted(in: self)
            if missing.isEmpty { return true }
            assertionFailure("\(type(of: self)): float tensors \(missing) are stored properties but not listed by directParameters/children; list them (or drop the hand-written lists: reflection finds them)")
            return false
        }())
        return namedParameters(checked: false)
    }

    /// `namedParameters()` without the debug check (which itself calls this).
    func namedParameters(checked: Bool) -> [(name: String, tensor: Tensor)] {
        directParameters + children.flatMap { child in
            child.module.namedParameters(checked: false).map { (name: "\(child.name).\($0.name)", tensor: $0.tensor) }
        }
    }

    /// Every parameter, in `namedParameters` order.
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// Switches this module and its children to training mode (`true`) or evaluation mode.
    public func train(_ on: Bool = true) {
        isTraining = on
        for child in children { child.module.train(on) }
    }

    /// Switches to evaluation mode.
    public func eval() { train(false) }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }
}
