import Testing
@testable import EmbeddingKit

/// Issue 6: optimizers refuse bad hyperparameters with an error naming the argument and the value as
/// PyTorch does, and no `step()` input stops the process: a bad learning rate set between steps or a
/// gradient that does not fit its parameter throws, changing nothing.
@Suite("Optimizer validation")
struct OptimizerValidationTests {
    private static func invalid(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, message) }

    /// A 2 x 2 parameter.
    private static func weight() -> Tensor {
        let w = Tensor([[1.0, 2], [3, 4]])
        w.requiresGrad = true
        return w
    }

    @Test("SGD refuses each bad hyperparameter with PyTorch's message")
    func sgdHyperparameters() {
        let p = [Self.weight()]
        #expect(throws: Self.invalid("Invalid learning rate: -0.1")) { try SGD(p, learningRate: -0.1) }
        #expect(throws: Self.invalid("Invalid learning rate: nan")) { try SGD(p, learningRate: .nan) }
        #expect(throws: Self.invalid("Invalid learning rate: inf")) { try SGD(p, learningRate: .infinity) }
        #expect(throws: Self.invalid("Invalid momentum value: -0.5")) { try SGD(p, learningRate: 0.1, momentum: -0.5) }
        #expect(throws: Self.invalid("Invalid momentum value: inf")) { try SGD(p, learningRate: 0.1, momentum: .infinity) }
        #expect(throws: Self.invalid("Invalid weight_decay value: -1.0")) { try SGD(p, learningRate: 0.1, weightDecay: -1) }
        #expect(throws: Self.invalid("Invalid dampening value: nan")) { try SGD(p, learningRate: 0.1, dampening: .nan) }
        let nesterov = Self.invalid("Nesterov momentum requires a momentum and zero dampening")
        #expect(throws: nesterov) { try SGD(p, learningRate: 0.1, nesterov: true) }
        #expect(throws: nesterov) { try SGD(p, learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true) }
        // accepted: the edges of each range (PyTorch accepts them too)
        #expect(throws: Never.self) { try SGD(p, learningRate: 0, momentum: 0, dampening: -1, weightDecay: 0) }
        #expect(throws: Never.self) { try SGD(p, learningRate: 0.1, momentum: 0.9, nesterov: true) }
    }

    @Test("Adagrad refuses each bad hyperparameter with PyTorch's message")
    func adagradHyperparameters() {
        let p = [Self.weight()]
        #expect(throws: Self.invalid("Invalid learning rate: -0.1")) { try Adagrad(p, learningRate: -0.1) }
        #expect(throws: Self.invalid("Invalid lr_decay value: -1.0")) { try Adagrad(p, learningRateDecay: -1) }
        #expect(throws: Self.invalid("Invalid lr_decay value: inf")) { try Adagrad(p, learningRateDecay: .infinity) }
        #expect(throws: Self.invalid("Invalid weight_decay value: -1.0")) { try Adagrad(p, weightDecay: -1) }
        #expect(throws: Self.invalid("Invalid epsilon value: -1e-10")) { try Adagrad(p, epsilon: -1e-10) }
        #expect(throws: Never.self) { try Adagrad(p, learningRate: 0, epsilon: 0) }
    }

    @Test("Adam, AdamW and SparseAdam refuse each bad hyperparameter with PyTorch's message")
    func adamHyperparameters() {
        let p = [Self.weight()]
        #expect(throws: Self.invalid("Invalid learning rate: -0.001")) { try Adam(p, learningRate: -0.001) }
        #expect(throws: Self.invalid("Invalid epsilon value: 0.0")) { try Adam(p, epsilon: 0) }
        #expect(throws: Self.invalid("Invalid epsilon value: -1e-08")) { try Adam(p, epsilon: -1e-8) }
        #expect(throws: Self.invalid("Invalid beta parameter at index 0: 1.0")) { try Adam(p, betas: (1, 0.999)) }
        #expect(throws: Self.invalid("Invalid beta parameter at index 0: nan")) { try Adam(p, betas: (.nan, 0.999)) }
        #expect(throws: Self.invalid("Invalid beta parameter at index 1: -0.1")) { try Adam(p, betas: (0.9, -0.1)) }
        #expect(throws: Self.invalid("Invalid beta parameter at index 1: 1.0")) { try Adam(p, betas: (0.9, 1)) }
        #expect(throws: Self.invalid("Invalid weight_decay value: -0.01")) { try Adam(p, weightDecay: -0.01) }
        #expect(throws: Self.invalid("Invalid weight_decay value: -0.01")) { try AdamW(p, weightDecay: -0.01) }
        #expect(throws: Self.invalid("Invalid beta parameter at index 0: -0.5")) { try AdamW(p, betas: (-0.5, 0.999)) }
        #expect(throws: Self.invalid("Invalid learning rate: 0.0")) { try SparseAdam(p, learningRate: 0) }   // SparseAdam: lr > 0
        #expect(throws: Self.invalid("Invalid epsilon value: 0.0")) { try SparseAdam(p, epsilon: 0) }
        #expect(throws: Self.invalid("Invalid beta parameter at index 1: 1.5")) { try SparseAdam(p, betas: (0.9, 1.5)) }
        #expect(throws: Never.self) { try Adam(p, learningRate: 0, betas: (0, 0)) }
    }

    @Test("an empty parameter list or an int64 parameter is refused")
    func parameterLists() {
        let empty = Self.invalid("optimizer got an empty parameter list")
        #expect(throws: empty) { try SGD([], learningRate: 0.1) }
        #expect(throws: empty) { try Adagrad([]) }
        #expect(throws: empty) { try Adam([]) }
        let ids = Tensor(indices: [1, 2])
        #expect(throws: Self.invalid("SGD: parameter 1 is an int64 tensor; only float tensors (float32, float16, bfloat16) can be optimized")) {
            try SGD([Self.weight(), ids], learningRate: 0.1)
        }
        #expect(throws: Self.invalid("Adagrad: parameter 0 is an int64 tensor; only float tensors (float32, float16, bfloat16) can be optimized")) {
            try Adagrad([ids])
        }
        #expect(throws: Self.invalid("SparseAdam: parameter 0 is an int64 tensor; only float tensors (float32, float16, bfloat16) can be optimized")) {
            try SparseAdam([ids])
        }
    }

    @Test("a learning rate set out of range between steps makes step() throw and change nothing")
    func learningRateChangedBetweenSteps() throws {
        let makers: [(String, ([Tensor]) throws -> any Optimizer, (any Optimizer, Float) -> Void)] = [
            ("SGD", { try SGD($0, learningRate: 0.1, momentum: 0.9) }, { ($0 as! SGD).learningRate = $1 }),
            ("Adagrad", { try Adagrad($0) }, { ($0 as! Adagrad).learningRate = $1 }),
            ("Adam", { try Adam($0) }, { ($0 as! Adam).learningRate = $1 }),
        ]
        for (name, make, setRate) in makers {
            let w = Self.weight(), fresh = Self.weight()
            let optimizer = try make([w]), reference = try make([fresh])
            w.grad = .dense(Tensor([[0.5, -1], [2, 0.25]]))
            fresh.grad = w.grad
            setRate(optimizer, -0.5)
            #expect(throws: Self.invalid("Invalid learning rate: -0.5"), "\(name)") { try optimizer.step() }
            #expect(throws: Self.invalid("Invalid learning rate: nan"), "\(name)") {
                setRate(optimizer, .nan)
                try optimizer.step()
            }
            #expect(w.scalars == [1, 2, 3, 4], "\(name)")
            // the failed steps left no trace (no step counted, no state): the next step is a first step
            setRate(optimizer, name == "SGD" ? 0.1 : name == "Adagrad" ? 0.01 : 1e-3)
            try optimizer.step()
            try reference.step()
            #expect(w.scalars == fresh.scalars, "\(name)")
        }
    }

    @Test("a gradient that does not fit its parameter makes step() throw before any parameter changes")
    func mismatchedGradients() throws {
        let a = Self.weight(), b = Self.weight()
        let sgd = try SGD([a, b], learningRate: 0.1)
        a.grad = .dense(Tensor([[1.0, 1], [1, 1]]))             // fine, but b's is not: a must not move either
        b.grad = .dense(Tensor([1.0, 1, 1, 1]))
        #expect(throws: EmbeddingKitError(.shape, "SGD.step: parameter 1 has shape [2, 2] but its gradient has shape [4]")) {
            try sgd.step()
        }
        #expect(a.scalars == [1, 2, 3, 4] && b.scalars == [1, 2, 3, 4])

        // a sparse gradient of another table (plain SGD would scatter it without coalescing)
        let big = Tensor.zeros([5, 2])
        big.requiresGrad = true
        try embedding(Tensor(indices: [4, 3]), big, sparse: true).sum().backward()
        b.grad = big.grad
        #expect(throws: EmbeddingKitError(.shape, "SGD.step: parameter 1 has shape [2, 2] but its gradient has shape [5, 2]")) {
            try sgd.step()
        }
        let makers: [([Tensor]) throws -> any Optimizer] = [{ try Adagrad($0) }, { try SparseAdam($0) }]
        for make in makers {
            let optimizer = try make([a, b])
            #expect(throws: EmbeddingKitError.self) { try optimizer.step() }
        }
        #expect(a.scalars == [1, 2, 3, 4] && b.scalars == [1, 2, 3, 4])

        // an int64 gradient of the right shape
        b.grad = .dense(Tensor(shape: [2, 2], indices: [1, 2, 3, 4]))
        #expect(throws: Self.invalid("SGD.step: the gradient of parameter 1 is an int64 tensor, not float32")) { try sgd.step() }
        #expect(throws: Self.invalid("Adam.step: the gradient of parameter 1 is an int64 tensor, not float32")) {
            try Adam([a, b]).step()
        }
        #expect(a.scalars == [1, 2, 3, 4] && b.scalars == [1, 2, 3, 4])
    }

    @Test("parameters without elements are skipped; SparseAdam's epsilon over a tiny correction is refused at step()")
    func edgeCases() throws {
        let empty = Tensor.zeros([0, 3])
        empty.requiresGrad = true
        empty.grad = .dense(Tensor.zeros([0, 3]))
        for optimizer in [try SGD([empty], learningRate: 0.1, momentum: 0.9) as any Optimizer, try Adagrad([empty]), try Adam([empty])] {
            try optimizer.step()
        }
        let w = Self.weight()
        w.grad = .dense(Tensor([[1.0, 1], [1, 1]]))
        let sparseAdam = try SparseAdam([w], epsilon: 3e38)
        #expect(throws: Self.invalid("SparseAdam.step: epsilon 3e+38 / sqrt(1 - beta2^1) is not finite")) { try sparseAdam.step() }
        #expect(w.scalars == [1, 2, 3, 4])
    }
}
