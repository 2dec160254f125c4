/// PyTorch's `grad_fn` names for the operations whose name depends on the operands' ranks: PyTorch
/// builds `linear` and `matmul` from several ATen operators (aten/src/ATen/native/Linear.cpp,
/// LinearAlgebra.cpp), and the last one applied names the result.
enum PyTorchNodeNames {
    /// `F.linear` on an input of `rank`: `addmm` for a matrix with a bias; with a bias otherwise,
    /// `_flatten_nd_linear` (addmm on the flattened input, then `view`); without one, `matmul`.
    static func linear(inputRank rank: Int, hasBias: Bool) -> String {
        if hasBias { return rank == 2 ? "AddmmBackward0" : "ViewBackward0" }
        return matmul(leftRank: rank, rightRank: 2)
    }

    /// `torch.matmul`: `mm` for two matrices, `unsqueeze(0).mm(...).squeeze_(0)` for a vector times
    /// a matrix (the in-place `squeeze_.dim` is `SqueezeBackward4`), and `_unsafe_view` of a folded
    /// `mm` or of a `bmm` for batched operands.
    static func matmul(leftRank: Int, rightRank: Int) -> String {
        if leftRank == 2 && rightRank == 2 { return "MmBackward0" }
        if leftRank == 1 && rightRank == 2 { return "SqueezeBackward4" }
        return "UnsafeViewBackward0"
    }
}
