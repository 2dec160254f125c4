extension Tensor {
    /// A random permutation of `0..<n` as an int64 tensor (PyTorch's `torch.randperm`), drawn from
    /// `generator`: the same seed gives the same permutation.
    public static func randperm(_ n: Int, generator: Generator = .default) -> Tensor {
        precondition(n >= 0, "randperm: n=\(n) must not be negative")
        var order = (0..<Int64(n)).map { $0 }
        generator.draw { order.shuffle(using: &$0) }
        return Tensor(shape: [n], ints: order)
    }
}
