import CKernels

/// How an optimizer writes an updated element of a half-precision table back into its 2 bytes.
///
/// The update itself runs in float32 (the row widened exactly, float32 optimizer state); only the
/// write rounds. See the C header's `ek_rounding` (section 4).
public enum HalfRounding: Sendable, Hashable {
    /// To the nearest half, ties to even (IEEE; PyTorch's `.to(torch.bfloat16)`). Updates smaller
    /// than half the spacing of the halves around a weight are lost.
    case nearest
    /// To one of the two halves around the float32 result, the farther from zero with probability
    /// equal to the distance from the nearer one over their spacing, so the expected written value is
    /// the float32 result and small updates survive on average. The coin of row `r`, column `d` is
    /// `ek_round_bits(seed, step, r, d)`, `step` being the optimizer's step count (1 on the first
    /// `step()`; see ``TableStorage``): the same for any thread count.
    case stochastic(seed: UInt64)
}

/// The element type of an `Embedding` / `EmbeddingBag` table, and for 2-byte tables how training
/// rounds their updates.
///
/// ```swift
/// let bag = try EmbeddingBag(count: 100_000, dimension: 64, mode: .sum, sparse: true, storage: .bfloat16)
/// let exact = try Embedding(count: 10, dimension: 4, storage: .float16(rounding: .nearest))
/// ```
///
/// A half table (`.float16`, `.bfloat16`) holds 2 bytes per element: lookups and bags read it and
/// produce float32; gradients are float32; every optimizer (SGD, Adagrad, Adam / AdamW, SparseAdam)
/// updates it in float32 with float32 state and rounds the result as `rounding` says. The
/// stochastic coin is keyed by the optimizer's step count: `Adam`'s (its bias-correction step),
/// `Adagrad`'s (its learning-rate-decay step), `SGD`'s (the number of `step()` calls): each
/// counts the calls of `step()`, starts at 1 and is saved in `stateDict()`, so a resumed run rounds
/// as the uninterrupted one. A half table cannot use `maxNorm` or per-sample-weight gradients (the
/// kernels rescale and differentiate float32 tables only): both throw.
public struct TableStorage: Sendable, Hashable, CustomStringConvertible {
    /// `.float32`, `.float16` or `.bfloat16`.
    public let dtype: DType
    /// How updates are written (meaningful for the half types only).
    public let rounding: HalfRounding

    /// 4-byte IEEE floats, the default.
    public static let float32 = TableStorage(dtype: .float32, rounding: .nearest)
    /// IEEE half precision with stochastic rounding (seed 0).
    public static let float16 = TableStorage(dtype: .float16, rounding: .stochastic(seed: 0))
    /// bfloat16 (the top 16 bits of a float32) with stochastic rounding (seed 0).
    public static let bfloat16 = TableStorage(dtype: .bfloat16, rounding: .stochastic(seed: 0))

    /// IEEE half precision with the given rounding.
    public static func float16(rounding: HalfRounding) -> TableStorage { TableStorage(dtype: .float16, rounding: rounding) }
    /// bfloat16 with the given rounding.
    public static func bfloat16(rounding: HalfRounding) -> TableStorage { TableStorage(dtype: .bfloat16, rounding: rounding) }

    /// Bytes per element: 4 or 2.
    public var byteSize: Int { dtype == .float32 ? 4 : 2 }

    /// `float32`, `bfloat16 (stochastic, seed 0)`, `float16 (nearest)`.
    public var description: String {
        guard dtype != .float32 else { return "float32" }
        switch rounding {
        case .nearest: return "\(dtype) (nearest)"
        case .stochastic(let seed): return "\(dtype) (stochastic, seed \(seed))"
        }
    }
}

/// The elements of a float16 / bfloat16 tensor: 2 bytes each, in the aligned, copy-on-write
/// allocation of `FloatStorage` (two halves per 4-byte slot), with the rounding its updates use.
struct HalfStorage {
    /// `ceil(count / 2)` slots holding the halves' bits (nil for `empty`: no allocation for the
    /// float32 and int64 tensors that carry one).
    private var slots: FloatStorage?
    /// The number of halves.
    let count: Int
    /// `EK_DTYPE_F16` or `EK_DTYPE_BF16`.
    let type: ek_dtype
    /// How updates are written back.
    var rounding: HalfRounding

    /// `count` halves whose contents are unspecified: for a kernel that writes every element.
    init(uninitializedCount count: Int, type: ek_dtype, rounding: HalfRounding) {
        slots = .uninitialized(count: (count + 1) / 2)
        self.count = count
        self.type = type
        self.rounding = rounding
    }

    /// Runs `body` with the first half's address (valid only inside `body`).
    func withRawPointer<R>(_ body: (UnsafeRawPointer) -> R) -> R {
        slots!.withPointer { body(UnsafeRawPointer($0)) }
    }

    /// Runs `body` with the first half's address, writable (copy-on-write first).
    mutating func withMutableRawPointer<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        try slots!.withMutablePointer { (p: UnsafeMutablePointer<Float>) throws(E) -> R in try body(UnsafeMutableRawPointer(p)) }
    }

    /// The halves as `float32` values, exactly (`ek_half_to_f32`).
    var widened: FloatStorage {
        var out = FloatStorage.uninitialized(count: count)
        out.withMutablePointer { dst in
            withRawPointer { src in
                mustSucceed(ek_half_to_f32(type, Int64(count), src.assumingMemoryBound(to: UInt16.self), dst), "HalfStorage.widened")
            }
        }
        return out
    }

    /// `values` rounded to the nearest half of `type` (`ek_half_from_f32`).
    init(nearest values: FloatStorage, type: ek_dtype, rounding: HalfRounding) {
        self.init(uninitializedCount: values.count, type: type, rounding: rounding)
        values.withPointer { src in
            withMutableRawPointer { dst in
                mustSucceed(ek_half_from_f32(type, Int64(values.count), src, dst.assumingMemoryBound(to: UInt16.self)),
                            "HalfStorage(nearest:)")
            }
        }
    }
}

extension DType {
    /// Whether this is `.float16` or `.bfloat16`: 2-byte table elements.
    public var isHalf: Bool { self == .float16 || self == .bfloat16 }

    /// The C table type: `EK_DTYPE_F32`, `_F16` or `_BF16` (int64 has none).
    var tableType: ek_dtype {
        switch self {
        case .float16: EK_DTYPE_F16
        case .bfloat16: EK_DTYPE_BF16
        default: EK_DTYPE_F32
        }
    }
}

extension Tensor {
    /// A half tensor of `shape` holding `values` rounded to the nearest element of `storage.dtype`
    /// (a float32 `storage` copies them).
    convenience init(shape: [Int], nearest values: FloatStorage, storage: TableStorage) {
        if storage.dtype == .float32 {
            self.init(shape: shape, floats: values)
        } else {
            self.init(shape: shape, halves: HalfStorage(nearest: values, type: storage.dtype.tableType, rounding: storage.rounding),
                      dtype: storage.dtype)
        }
    }

    /// This float tensor held as `storage` says: itself when it already is, else a new tensor (no
    /// gradient) with its values converted — widened exactly, or rounded to the nearest half. The
    /// rounding rule of a half tensor that stays half is set to `storage.rounding`.
    ///
    /// ```swift
    /// let table = Tensor.randn([1000, 16]).converted(to: .bfloat16)   // 2 bytes per element
    /// ```
    public func converted(to storage: TableStorage) -> Tensor {
        precondition(dtype != .int64, "converted(to:): an int64 tensor has no table storage")
        if dtype == storage.dtype {
            if dtype.isHalf { halves.rounding = storage.rounding }
            return self
        }
        return Tensor(shape: shape, nearest: dtype.isHalf ? halves.widened : floats, storage: storage)
    }

    /// The storage of a float tensor: its element type and, for a half tensor, its update rounding.
    public var storage: TableStorage {
        precondition(dtype != .int64, "storage: an int64 tensor is not a table")
        return dtype.isHalf ? TableStorage(dtype: dtype, rounding: halves.rounding) : .float32
    }

    /// The elements as a float32 tensor: a float32 tensor itself, a half tensor widened exactly into
    /// a new tensor (a copy: changing it does not change the table).
    public func widened() -> Tensor {
        dtype.isHalf ? Tensor(shape: shape, floats: halves.widened) : self
    }

    /// Runs `body` with the element data of a float tensor (float32 or half) for a C table descriptor.
    func withTableData<R>(_ body: (UnsafeRawPointer) -> R) -> R {
        dtype.isHalf ? halves.withRawPointer(body) : floats.withPointer { body(UnsafeRawPointer($0)) }
    }

    /// Runs `body` with the element data, writable (copy-on-write first): for an update or a load.
    func withMutableTableData<R>(_ body: (UnsafeMutableRawPointer) -> R) -> R {
        dtype.isHalf ? halves.withMutableRawPointer(body) : floats.withMutablePointer { body(UnsafeMutableRawPointer($0)) }
    }

    /// The `ek_optimizer` rounding fields for an update of this tensor at optimizer step `step`.
    func setRounding(of o: inout ek_optimizer, step: Int) {
        o.step = Int64(step)
        guard dtype.isHalf else { return }
        switch halves.rounding {
        case .nearest: o.rounding = EK_ROUND_NEAREST
        case .stochastic(let seed): (o.rounding, o.seed) = (EK_ROUND_STOCHASTIC, seed)
        }
    }
}

extension HalfStorage {
    /// No elements: the `halves` of a float32 or int64 tensor.
    static var empty: HalfStorage { HalfStorage() }

    private init() {
        slots = nil
        count = 0
        type = EK_DTYPE_BF16
        rounding = .nearest
    }
}
