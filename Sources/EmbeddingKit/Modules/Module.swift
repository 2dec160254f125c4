/// A layer or model: it owns parameters (tensors that require gradients), may contain child
/// modules, and switches between training and evaluation behaviour. PyTorch's `nn.Module`.
public protocol Module: AnyObject {
    /// This module's own parameters with their names (children's are added by `namedParameters`).
    var directParameters: [(name: String, tensor: Tensor)] { get }
    /// The child modules with their names.
    var children: [(name: String, module: any Module)] { get }
    /// Whether the module is in training mode (dropout active, ...).
    var isTraining: Bool { get set }
}

extension Module {
    /// None by default: a module without child modules.
    public var children: [(name: String, module: any Module)] { [] }

    /// Every parameter with its dotted path, e.g. `embed.weight`.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        directParameters + children.flatMap { child in
            child.module.namedParameters().map { (name: "\(child.name).\($0.name)", tensor: $0.tensor) }
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
