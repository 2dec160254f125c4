
/// Storage for gradients, reused from one training step to the next.
///
/// A training loop allocates the same gradients every step: a sparse lookup's value rows (for a
/// large batch, tens of megabytes) are released by `zeroGrad()` and asked for again by the next
/// `backward()`. Fresh arrays of that size come from the kernel as new pages, and page faults were
/// the largest single cost of a sparse training step. So `zeroGrad()` keeps a released sparse
/// gradient's storage on its table, and the next sparse backward of that table writes into it.
///
/// Reuse never changes a value anyone can see: the storage is copy-on-write, so if a program still holds
/// the released gradient (`let g = weight.grad; weight.zeroGrad()`), writing into the kept storage
/// copies it first and `g` keeps its values.
struct SpareGradientStorage {
    var rows: [Int64]?
    var values: FloatStorage?
}

extension Tensor {
    /// Keeps the storage of `gradient`, which this tensor is releasing, for its next sparse backward.
    func keepSpareStorage(of gradient: Gradient?) {
        guard case .sparse(let s)? = gradient else { return }
        spareGradient = s.entries.spareStorage
    }

    /// The storage kept by `keepSpareStorage(of:)`, handed over (the tensor keeps nothing).
    func takeSpareStorage() -> SpareGradientStorage {
        let spare = spareGradient ?? SpareGradientStorage()
        spareGradient = nil
        return spare
    }

    /// The sparse gradient of this `[rows, dim]` table that `kernel` writes: it gets room for
    /// `entries` rows and values and sets how many it wrote. The gradient owns that storage (the one
    /// `zeroGrad()` kept, or a fresh one not zero-filled), cut to the entries written, not copied.
    func sparseGradient(entries n: Int, dim: Int,
                        _ kernel: (inout [Int64], UnsafeMutablePointer<Float>, inout Int64) -> Void) -> SparseGradient {
        var spare = takeSpareStorage()
        return SparseGradient.written(entries: n, dim: dim, tableRows: shape[0], spare: &spare, kernel)
    }
}

extension Array where Element: Numeric & BitwiseCopyable {
    /// An array of `count` elements whose contents are unspecified: the caller overwrites every
    /// element it keeps (and may shorten the array with `removeLast`). It uses `spare`'s storage when
    /// that is large enough (`spare` is emptied), otherwise a fresh allocation that is not zero-filled.
    static func scratch(count: Int, reusing spare: inout [Element]?) -> [Element] {
        guard var a = spare, a.capacity >= count else {
            spare = nil
            return uninitialized(count: count)
        }
        spare = nil // `a` is now the only reference, unless a program still holds the old gradient
        if a.count > count {
            a.removeLast(a.count - count)
        } else if a.count < count {
            a.append(contentsOf: repeatElement(.zero, count: count - a.count))
        }
        return a
    }

    /// An array of `count` elements whose contents are unspecified, from a fresh allocation that is
    /// not zero-filled (for a kernel that writes every element).
    static func uninitialized(count: Int) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}

extension FloatStorage {
    /// `count` elements whose contents are unspecified, in `spare`'s storage when that is large enough
    /// (`spare` is emptied; copied first if a program still holds it), else a fresh allocation.
    static func scratch(count: Int, reusing spare: inout FloatStorage?) -> FloatStorage {
        guard var s = spare, s.capacity >= count else {
            spare = nil
            return .uninitialized(count: count)
        }
        spare = nil // `s` is now the only reference, unless a program still holds the old gradient
        s.resizeUninitialized(to: count)
        return s
    }
}
