// ekd-swift-check — the Swift API of EmbeddingKitDistributed under mpirun (make test-mpi): one
// forward and one Adagrad step of a row-wise, a column-wise and a table-wise table against the core
// (CKernels' ek_bag_forward / ek_bag_backward_update on the whole table over the global batch), and a
// bad index on the last rank thrown on every rank.
import CKernels
import EmbeddingKit
import EmbeddingKitDistributed

#if canImport(Glibc)
import Glibc
#endif

MPI.initialize()
let rank = MPI.rank, size = MPI.size
var passed = 0, failed = 0
@MainActor func expect(_ ok: Bool, _ what: @autoclosure () -> String) {
    if ok { passed += 1 } else { failed += 1; print("rank \(rank): FAIL \(what())") }
}

let tables = [ShardedTable(rows: 20, dimension: 4, scheme: .rowWise, mode: .sum),
              ShardedTable(rows: 9, dimension: 5, scheme: .columnWise, mode: .mean),
              ShardedTable(rows: 7, dimension: 3, scheme: .tableWise, mode: .max)]
let width = 12

// The global batch: 10 bags per table from a fixed generator; each rank takes a contiguous slice.
var state: UInt64 = 12345
@MainActor func next(_ n: Int) -> Int64 {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Int64((state >> 33) % UInt64(n))
}
let globalBags = 10
var global: [(ids: [Int64], offsets: [Int64])] = []
for t in tables {
    var ids: [Int64] = [], offsets: [Int64] = []
    for _ in 0..<globalBags {
        offsets.append(Int64(ids.count))
        for _ in 0..<Int(next(4)) { ids.append(next(t.rows)) }
    }
    global.append((ids, offsets))
}
let grad = (0..<(globalBags * width)).map { _ in Float(next(1000)) / 500 - 1 }
let first = rank * globalBags / size, last = (rank + 1) * globalBags / size

@MainActor func slice(_ g: (ids: [Int64], offsets: [Int64])) -> Bags {
    let end = { (b: Int) -> Int in b + 1 < globalBags ? Int(g.offsets[b + 1]) : g.ids.count }
    let lo = first < last ? Int(g.offsets[first]) : 0, hi = first < last ? end(last - 1) : 0
    return Bags(indices: Array(g.ids[lo..<hi]), offsets: (first..<last).map { g.offsets[$0] - Int64(lo) })
}

do {
    let bags = try ShardedEmbeddingBags(tables: tables, optimizer: .adagrad(learningRate: 0.1))
    try bags.initUniform(seed: 3, scale: 0.5)
    var weights = try (0..<3).map { try bags.gatherTable($0) }
    let out = try bags.forward(global.map(slice))
    try bags.backwardUpdate(gradOutput: Array(grad[(first * width)..<(last * width)]))

    // the core on one process, global batch
    var col = 0
    for (t, cfg) in tables.enumerated() {
        let d = cfg.dimension
        var pooled = [Float](repeating: 0, count: globalBags * d), argmax = [Int64](repeating: 0, count: globalBags * d)
        var g = [Float](repeating: 0, count: globalBags * d), stateSum = [Float](repeating: 0, count: cfg.rows * d)
        for b in 0..<globalBags { for k in 0..<d { g[b * d + k] = grad[b * width + col + k] } }
        let mode: ek_bag_mode = cfg.mode == .sum ? EK_BAG_SUM : cfg.mode == .mean ? EK_BAG_MEAN : EK_BAG_MAX
        var options = ek_bag_options(struct_size: Int64(MemoryLayout<ek_bag_options>.size), mode: mode, scale_grad_by_freq: 0)
        global[t].ids.withUnsafeBufferPointer { ids in
            global[t].offsets.withUnsafeBufferPointer { offs in
                weights[t].withUnsafeMutableBufferPointer { w in argmax.withUnsafeMutableBufferPointer { am in
                    var table = ek_table()
                    table.struct_size = Int64(MemoryLayout<ek_table>.size)
                    table.rows = Int64(cfg.rows); table.dim = Int64(d); table.data = UnsafeMutableRawPointer(w.baseAddress)
                    var input = ek_bag_input()
                    input.struct_size = Int64(MemoryLayout<ek_bag_input>.size)
                    input.indices = UnsafeRawPointer(ids.baseAddress); input.num_indices = Int64(ids.count)
                    input.offsets = UnsafeRawPointer(offs.baseAddress); input.num_bags = Int64(globalBags)
                    let maxOut: UnsafeMutablePointer<Int64>? = mode == EK_BAG_MAX ? am.baseAddress : nil
                    _ = ek_bag_forward(&table, &input, &options, &pooled, nil, maxOut)
                    var opt = ek_optimizer()
                    opt.struct_size = Int64(MemoryLayout<ek_optimizer>.size)
                    opt.kind = EK_OPT_ADAGRAD; opt.lr = 0.1; opt.eps = 1e-10; opt.step = 1
                    stateSum.withUnsafeMutableBufferPointer { s in
                        opt.state_sum = s.baseAddress
                        _ = ek_bag_backward_update(&table, &input, &options, maxOut, g, &opt)
                    }
                } }
            }
        }
        let tol: Float = cfg.scheme == .rowWise ? 1e-5 : 0
        for b in first..<last {
            for k in 0..<d {
                let got = out[(b - first) * width + col + k], want = pooled[b * d + k]
                expect(abs(got - want) <= tol * (1 + abs(want)), "table \(t) (\(cfg.scheme)) bag \(b)[\(k)]: \(got) vs the core's \(want)")
            }
        }
        let updated = try bags.gatherTable(t)
        expect(zip(updated, weights[t]).allSatisfy { abs($0 - $1) <= tol * 10 * (1 + abs($1)) },
               "table \(t) (\(cfg.scheme)) after the update differs from the core's")
        col += d
    }

    // a bad index on the last rank: the same error everywhere
    var bad = global.map(slice)
    if rank == size - 1 { bad[2] = Bags(indices: [0, 7], offsets: Array(repeating: 0, count: last - first)) }
    do {
        _ = try bags.forward(bad)
        expect(false, "a bad index on rank \(size - 1) did not throw")
    } catch {
        expect(error.kind == .indexOutOfRange && error.message.contains("rank \(size - 1): inputs[2].indices[1]=7"),
               "bad index: \(error.kind) \(error.message)")
    }
} catch {
    expect(false, "unexpected error: \(error)")
}

var totals = [Float(passed), Float(failed)]
let counts = totals
try? MPI.allreduceMean(&totals)
if rank == 0 { print("ekd-swift-check on \(size) rank(s): \(Int(totals[0] * Float(size))) passed, \(Int(totals[1] * Float(size))) failed") }
MPI.finalize()
exit(counts[1] == 0 && totals[1] == 0 ? 0 : 1)
