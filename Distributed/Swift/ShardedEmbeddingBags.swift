import CEmbeddingKitDistributed
import CKernels
import CMPI
import EmbeddingKit

/// The MPI job this process belongs to (Open MPI; start programs with `mpirun`).
public enum MPI {
    /// Initialises MPI (once, before anything else that uses it).
    public static func initialize() {
        var done: Int32 = 0
        MPI_Initialized(&done)
        if done == 0 { MPI_Init(nil, nil) }
    }

    /// Shuts MPI down (once, at the end; collective).
    public static func finalize() { MPI_Finalize() }

    /// This process's rank in the job (MPI_COMM_WORLD).
    public static var rank: Int {
        var r: Int32 = 0
        MPI_Comm_rank(ekd_swift_comm_world(), &r)
        return Int(r)
    }

    /// The number of processes in the job.
    public static var size: Int {
        var s: Int32 = 0
        MPI_Comm_size(ekd_swift_comm_world(), &s)
        return Int(s)
    }

    /// Replaces `values` by their mean over the ranks, the same bits on every rank (dense gradients
    /// of data-parallel parameters). Collective.
    public static func allreduceMean(_ values: inout [Float]) throws(EmbeddingKitError) {
        let n = Int64(values.count)
        let status = values.withUnsafeMutableBufferPointer { ekd_allreduce_mean(ekd_swift_comm_world(), $0.baseAddress, n) }
        try check(status)
    }
}

/// How a table is split across the ranks (docs/DISTRIBUTED.md).
public enum ShardingScheme: Sendable {
    /// The whole table on one rank (table t on rank t % size): exactly one process's result.
    case tableWise
    /// Rows in contiguous blocks, one per rank: sums within fp32 rounding of one process's.
    case rowWise
    /// Columns in slices, one per rank: exactly one process's result.
    case columnWise

    var c: ekd_scheme {
        switch self {
        case .tableWise: EKD_TABLE_WISE
        case .rowWise: EKD_ROW_WISE
        case .columnWise: EKD_COLUMN_WISE
        }
    }
}

/// How a bag is reduced.
public enum BagReduction: Sendable {
    case sum, mean, max

    var c: ek_bag_mode {
        switch self {
        case .sum: EK_BAG_SUM
        case .mean: EK_BAG_MEAN
        case .max: EK_BAG_MAX
        }
    }
}

/// One table of a sharded collection.
public struct ShardedTable: Sendable {
    public var rows: Int
    public var dimension: Int
    public var scheme: ShardingScheme
    public var mode: BagReduction

    public init(rows: Int, dimension: Int, scheme: ShardingScheme, mode: BagReduction = .sum) {
        self.rows = rows
        self.dimension = dimension
        self.scheme = scheme
        self.mode = mode
    }
}

/// The sparse optimizer applied on each row's owner.
public enum ShardedOptimizer: Sendable {
    case sgd(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0)
    case adagrad(learningRate: Float, eps: Float = 1e-10)
    case rowWiseAdagrad(learningRate: Float, eps: Float = 1e-10)
    case adam(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0)

    var c: ek_optimizer {
        var o = ek_optimizer()
        o.struct_size = Int64(MemoryLayout<ek_optimizer>.size)
        switch self {
        case let .sgd(lr, momentum, wd):
            o.kind = EK_OPT_SGD; o.lr = lr; o.momentum = momentum; o.weight_decay = wd
        case let .adagrad(lr, eps):
            o.kind = EK_OPT_ADAGRAD; o.lr = lr; o.eps = eps
        case let .rowWiseAdagrad(lr, eps):
            o.kind = EK_OPT_ROWWISE_ADAGRAD; o.lr = lr; o.eps = eps
        case let .adam(lr, b1, b2, eps, wd):
            o.kind = EK_OPT_ADAM; o.lr = lr; o.beta1 = b1; o.beta2 = b2; o.eps = eps; o.weight_decay = wd
        }
        return o
    }
}

/// One table's bags in a batch: `indices` cut by `offsets` (one start per bag, PyTorch's
/// EmbeddingBag layout), optional per-sample weights and padding row.
public struct Bags: Sendable {
    public var indices: [Int64]
    public var offsets: [Int64]
    public var perSampleWeights: [Float]?
    public var paddingIndex: Int64?

    public init(indices: [Int64], offsets: [Int64], perSampleWeights: [Float]? = nil, paddingIndex: Int64? = nil) {
        self.indices = indices
        self.offsets = offsets
        self.perSampleWeights = perSampleWeights
        self.paddingIndex = paddingIndex
    }
}

/// A collection of EmbeddingBags sharded across the ranks of the job (libembeddingkit_dist).
///
/// Every method is collective: all ranks call it in the same order. A bad index or offset on any
/// rank throws the same `EmbeddingKitError` on every rank (naming the rank) and changes nothing.
public final class ShardedEmbeddingBags {
    private let handle: OpaquePointer
    /// The tables, in output order.
    public let tables: [ShardedTable]
    /// The width of a forward's output rows: the sum of the tables' dimensions.
    public let outputWidth: Int

    /// Creates the collection on every rank of the job (weights start at 0; see `initUniform`).
    public init(tables: [ShardedTable], optimizer: ShardedOptimizer) throws(EmbeddingKitError) {
        let configs = tables.map {
            ekd_table_config(rows: Int64($0.rows), dim: Int64($0.dimension), scheme: $0.scheme.c, mode: $0.mode.c,
                             scale_grad_by_freq: 0)
        }
        var opt = optimizer.c
        var out: OpaquePointer?
        let status = configs.withUnsafeBufferPointer {
            ekd_create(ekd_swift_comm_world(), Int64(tables.count), $0.baseAddress, &opt, &out)
        }
        try check(status)
        handle = out!
        self.tables = tables
        outputWidth = tables.reduce(0) { $0 + $1.dimension }
    }

    deinit { ekd_free(handle) }

    /// Weights uniform in [-scale, scale) from (seed, table, row, column): the same on any sharding.
    public func initUniform(seed: UInt64, scale: Float) throws(EmbeddingKitError) {
        try check(ekd_init_uniform(handle, seed, scale))
    }

    /// Table `t`, gathered on every rank (rows x dimension, row-major).
    public func gatherTable(_ t: Int) throws(EmbeddingKitError) -> [Float] {
        var full = [Float](repeating: 0, count: tables[t].rows * tables[t].dimension)
        let status = full.withUnsafeMutableBufferPointer { ekd_get_table(handle, Int64(t), $0.baseAddress) }
        try check(status)
        return full
    }

    /// The pooled rows of this rank's bags: bags x outputWidth, the tables side by side.
    public func forward(_ bags: [Bags]) throws(EmbeddingKitError) -> [Float] {
        guard bags.count == tables.count else {
            throw EmbeddingKitError(.shape, "forward: \(bags.count) bag inputs for \(tables.count) tables")
        }
        let numBags = bags.first?.offsets.count ?? 0
        var out = [Float](repeating: 0, count: numBags * outputWidth)
        // Keep every array alive and pinned while the C call reads it.
        let status: ek_status = withInputs(bags, index: 0, built: []) { inputs in
            out.withUnsafeMutableBufferPointer { ekd_forward(handle, inputs, $0.baseAddress) }
        }
        try check(status)
        return out
    }

    /// The backward of the last forward, fused with the optimizer step on each row's owner.
    public func backwardUpdate(gradOutput: [Float]) throws(EmbeddingKitError) {
        let status = gradOutput.withUnsafeBufferPointer { ekd_backward_update(handle, $0.baseAddress) }
        try check(status)
    }

    /// Writes a checkpoint (each rank its shard, then rank 0 the manifest) into `directory`.
    public func save(to directory: String) throws(EmbeddingKitError) { try check(ekd_save(handle, directory)) }

    /// Loads a checkpoint saved on any number of ranks, re-sharding it.
    public func load(from directory: String) throws(EmbeddingKitError) { try check(ekd_load(handle, directory)) }

    /// Builds the ek_bag_input of each table with pointers valid inside `body`.
    private func withInputs<R>(_ bags: [Bags], index: Int, built: [ek_bag_input],
                               _ body: (UnsafePointer<ek_bag_input>) -> R) -> R {
        if index == bags.count { return built.withUnsafeBufferPointer { body($0.baseAddress!) } }
        let b = bags[index]
        return b.indices.withUnsafeBufferPointer { ids in
            b.offsets.withUnsafeBufferPointer { offs in
                let weights = b.perSampleWeights ?? []
                return weights.withUnsafeBufferPointer { w in
                    var input = ek_bag_input()
                    input.struct_size = Int64(MemoryLayout<ek_bag_input>.size)
                    input.index_type = EK_INDEX_I64
                    input.indices = UnsafeRawPointer(ids.baseAddress)
                    input.num_indices = Int64(b.indices.count)
                    input.offsets = UnsafeRawPointer(offs.baseAddress)
                    input.num_bags = Int64(b.offsets.count)
                    if b.perSampleWeights != nil {
                        input.per_sample_weights = w.baseAddress
                        input.num_weights = Int64(weights.count)
                    }
                    if let p = b.paddingIndex {
                        input.has_padding = 1
                        input.padding_idx = p
                    }
                    return withInputs(bags, index: index + 1, built: built + [input], body)
                }
            }
        }
    }
}

/// A status of libembeddingkit_dist as the thrown error, with ekd_last_error()'s message.
private func check(_ status: ek_status) throws(EmbeddingKitError) {
    guard status != EK_OK else { return }
    let kind: EmbeddingKitError.Kind
    switch status {
    case EK_ERR_INDEX_OUT_OF_RANGE: kind = .indexOutOfRange
    case EK_ERR_SHAPE: kind = .shape
    case EK_ERR_NULL_POINTER: kind = .nullPointer
    case EK_ERR_OVERFLOW: kind = .overflow
    case EK_ERR_ALLOC: kind = .allocation
    case EK_ERR_INVALID_ARGUMENT: kind = .invalidArgument
    default: kind = .io  // EKD_ERR_MPI: a failed MPI call
    }
    throw EmbeddingKitError(kind, String(cString: ekd_last_error()))
}
