/// Encodes and decodes optimizer state in PyTorch's `state_dict()` layout, flattened for safetensors:
/// `state.<i>.<table>` float32 tensors of the parameter's shape, `state.<i>.step` a float32 scalar (as
/// PyTorch stores it), and metadata `optimizer`, `step` (exact, as text) and `param_groups.0.<name>`.
struct OptimizerState {
    /// The optimizer's name (`SGD`, `Adagrad`, `Adam`, `AdamW`, `SparseAdam`).
    let kind: String
    /// Hyperparameters that must match on load, by PyTorch's names (`momentum`, `betas.0`, ...).
    let fixed: [String: Float]

    /// The state file: every table present, and the step count when the optimizer keeps one.
    func encode(_ parameters: [Tensor], tables: [(name: String, tables: StateTables)], step: Int?,
                learningRate: Float) -> SafeTensors {
        var tensors = [String: Tensor]()
        var metadata = ["optimizer": kind, "param_groups.0.lr": "\(learningRate)"]
        for (name, value) in fixed { metadata["param_groups.0.\(name)"] = "\(value)" }
        if let step { metadata["step"] = "\(step)" }
        for (i, p) in parameters.enumerated() {
            var any = false
            for (name, t) in tables {
                guard let values = t.table(for: p) else { continue }
                tensors["state.\(i).\(name)"] = Tensor(shape: p.shape, floats: values)
                any = true
            }
            if any, let step { tensors["state.\(i).step"] = Tensor(scalar: Float(step)) }
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }

    /// The decoded state, checked whole before the caller changes anything: per table name the
    /// (parameter, values) pairs, the step count (0 without one) and the learning rate.
    func decode(_ state: SafeTensors, _ parameters: [Tensor], tableNames: [String], keepsStep: Bool)
        throws(EmbeddingKitError) -> (tables: [String: [(Tensor, [Float])]], step: Int, learningRate: Float?) {
        let op = "\(kind).loadStateDict"
        guard let saved = state.metadata["optimizer"] else {
            throw EmbeddingKitError(.invalidArgument, "\(op): no \"optimizer\" entry in the metadata: not an optimizer state")
        }
        guard saved == kind else {
            throw EmbeddingKitError(.invalidArgument, "\(op): the state is \(saved)'s, not \(kind)'s")
        }
        for (name, value) in fixed.sorted(by: { $0.key < $1.key }) {
            let text = state.metadata["param_groups.0.\(name)"]
            guard let text, let savedValue = Float(text), savedValue == value || (savedValue.isNaN && value.isNaN) else {
                throw EmbeddingKitError(.invalidArgument,
                    "\(op): \(name) is \(text ?? "missing") in the state and \(value) in this optimizer; resuming would not reproduce the run")
            }
        }
        var learningRate: Float?
        if let text = state.metadata["param_groups.0.lr"] {
            guard let lr = Float(text) else { throw EmbeddingKitError(.invalidArgument, "\(op): param_groups.0.lr is not a number: \(quoted(text))") }
            learningRate = lr
        }
        var step = 0
        if keepsStep {
            guard let text = state.metadata["step"], let n = Int(text), n >= 0 else {
                throw EmbeddingKitError(.invalidArgument, "\(op): the metadata's \"step\" is missing or not a count")
            }
            step = n
        }
        var tables = [String: [(Tensor, [Float])]]()
        for (key, tensor) in state.tensors.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "state", let i = Int(parts[1]), String(i) == parts[1] else {
                throw EmbeddingKitError(.invalidArgument, "\(op): unexpected key \(quoted(key)) (expected state.<index>.<name>)")
            }
            guard i >= 0 && i < parameters.count else {
                throw EmbeddingKitError(.indexOutOfRange, "\(op): \(quoted(key)) names parameter \(i), but the optimizer has \(parameters.count)")
            }
            let name = String(parts[2])
            if name == "step" && keepsStep { continue }   // the metadata's exact count is used
            guard tableNames.contains(name) else {
                throw EmbeddingKitError(.invalidArgument, "\(op): unexpected key \(quoted(key)); \(kind) keeps \(tableNames.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            guard tensor.dtype == .float32 else { throw EmbeddingKitError(.invalidArgument, "\(op): \(quoted(key)) is \(tensor.dtype), not float32") }
            guard tensor.shape == parameters[i].shape else {
                throw EmbeddingKitError(.shape, "\(op): \(quoted(key)) has shape \(tensor.shape) but parameter \(i) has shape \(parameters[i].shape)")
            }
            tables[name, default: []].append((parameters[i], tensor.floats.array))
        }
        return (tables, step, learningRate)
    }
}
