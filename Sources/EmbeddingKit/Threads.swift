import CKernels

/// The most threads the kernels use (the C library's `EK_MAX_THREADS`): OpenMP runtimes fail to start
/// teams far larger than a machine (a crash, or "Thread creation failed" and exit), so larger counts
/// are refused.
public let maxThreads = Int(EK_MAX_THREADS)

/// Sets how many threads the kernels use, process-wide (PyTorch's `torch.set_num_threads`). Results
/// do not depend on it: every kernel is deterministic across thread counts.
///
/// Throws `EmbeddingKitError` (`.invalidArgument`, naming `num_threads` and the value) for
/// `count < 1` or `count > maxThreads`, and then changes nothing.
///
/// In a process forked from one that has loaded EmbeddingKit, the kernels run on one thread (OpenMP's
/// thread pool does not survive `fork`) and `numThreads()` returns 1 there.
public func setNumThreads(_ count: Int) throws(EmbeddingKitError) {
    guard let count32 = Int32(exactly: count) else { // beyond Int32: the C call would see a clamped value
        throw EmbeddingKitError(.invalidArgument, count < 1
            ? "set_num_threads: num_threads=\(count) must be >= 1"
            : "set_num_threads: num_threads=\(count) exceeds EK_MAX_THREADS=\(maxThreads)")
    }
    try checkKernel(ek_set_num_threads(count32))
}

/// The number of threads the kernels use (PyTorch's `torch.get_num_threads`).
public func numThreads() -> Int { Int(ek_get_num_threads()) }
