/// One recorded operation: the tensors it read and the rule that maps the gradient of its output
/// to a gradient for each of them (nil where an input needs none).
final class GradNode {
    /// PyTorch's name for the node (`grad_fn`), e.g. `EmbeddingBackward0`.
    var name: String
    let inputs: [Tensor]
    let backward: (Tensor) -> [Gradient?]

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Gradient?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// Marks `self` (a fresh result) as produced by `name` from `inputs`, when recording is on and
    /// any input requires a gradient. Returns `self` for chaining.
    @discardableResult
    func recorded(_ name: String, _ inputs: [Tensor], backward: @escaping (Tensor) -> [Gradient?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: \.requiresGrad) else { return self }
        requiresGrad = true
        gradNode = GradNode(name: name, inputs: inputs, backward: backward)
        return self
    }

    /// Gives the node that produced this fresh result PyTorch's name for the operation it stands for
    /// (`transpose` is a `permute` here, but PyTorch prints `TransposeBackward0`). Returns `self`.
    @discardableResult
    func renamingNode(_ name: String) -> Tensor {
        gradNode?.name = name
        return self
    }

    /// Whether this tensor is a leaf of the graph (a parameter or an input), whose `grad` autograd fills.
    public var isLeaf: Bool { gradNode == nil }

    /// The name of the operation that produced this tensor, like PyTorch's `grad_fn`.
    public var gradFunctionName: String? { gradNode?.name }

    /// Computes the gradient of `self` with respect to every leaf that requires one, accumulating
    /// into their `grad` (PyTorch's `backward`). A non-scalar needs a seed gradient of its shape.
    public func backward(_ seed: Tensor? = nil) {
        precondition(requiresGrad, "backward: the tensor does not require a gradient")
        let start: Tensor
        if let seed {
            precondition(seed.shape == shape, "backward: seed of shape \(seed.shape) for a tensor of shape \(shape)")
            start = seed
        } else {
            precondition(count == 1, "backward: a tensor of shape \(shape) needs a seed gradient")
            start = Tensor.ones(shape)
        }

        // Topological order (iterative DFS: deep graphs must not overflow the stack).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in t.gradNode?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        var pending: [ObjectIdentifier: Gradient] = [ObjectIdentifier(self): .dense(start)]
        for t in order.reversed() {
            guard let g = pending.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            guard let node = t.gradNode else {
                t.grad = t.grad.map { $0.adding(g) } ?? g.copied()
                continue
            }
            let inputGrads = node.backward(g.toDense())
            for (input, ig) in zip(node.inputs, inputGrads) where input.requiresGrad {
                guard let ig else { continue }
                let key = ObjectIdentifier(input)
                pending[key] = pending[key].map { $0.adding(ig) } ?? ig
            }
        }
    }

    /// Clears the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    ///
    /// A sparse gradient's storage is kept for the next backward pass of this table to write into
    /// (see `SpareGradientStorage`); the gradient itself is gone, as in PyTorch.
    public func zeroGrad() {
        keepSpareStorage(of: grad)
        grad = nil
    }
}
