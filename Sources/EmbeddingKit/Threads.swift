import CKernels

/// Sets how many threads the kernels (and OpenBLAS) use, process-wide (PyTorch's
/// `torch.set_num_threads`). Results do not depend on it: every kernel is deterministic across
/// thread counts. Throws for `count < 1`.
public func setNumThreads(_ count: Int) throws(EmbeddingKitError) {
    try checkKernel(ek_set_num_threads(Int32(clamping: count)))
}

/// The number of threads the kernels use (PyTorch's `torch.get_num_threads`).
public func numThreads() -> Int { Int(ek_get_num_threads()) }
