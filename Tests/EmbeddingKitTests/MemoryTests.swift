import Foundation
import Glibc
import Testing
@testable import EmbeddingKit

/// Long training loops keep a flat resident set: no per-step leak (an autograd graph kept alive, an
/// optimizer state that grows, sparse gradients that keep concatenating). RSS is read from
/// /proc/self/statm in a child process (this test binary run again with only `memoryChild`), so that
/// other tests running in parallel in this process cannot move it. Under `swift test
/// --sanitize=address` the child also ends through LeakSanitizer's check: a leak makes it exit
/// non-zero, which fails the test.
@Suite("Memory", .serialized)
struct MemoryTests {
    /// Resident bytes of this process.
    static func residentBytes() -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// W9 of `make bench` (Examples/Sources/ek-swift-bench/main.swift), at its real sizes: EmbeddingBag(200k x 64,
    /// mean, sparse) -> Linear(64, 100) -> crossEntropy (mean), backward, SGD(lr 0.1) over both
    /// modules, zeroGrad(); batches of 256 bags x 20 tokens, 8 of them rotated (as the benchmark does).
    enum W9 {
        static let vocabulary = 200_000, dimension = 64, classes = 100, batch = 256, tokens = 20, batches = 8
    }

    /// One W9 step on `input` / `target`; returns the loss.
    static func w9Step(_ bag: EmbeddingBag, _ head: Linear, _ sgd: SGD, _ input: Tensor, _ target: Tensor) throws -> Float {
        sgd.zeroGrad()
        let loss = try crossEntropy(head(try bag(input)), target)
        loss.backward()
        try sgd.step()
        return loss.item
    }

    @Test("a training step's graph is freed when the step ends")
    func graphIsFreed() throws {
        let embed = try Embedding(count: 100, dimension: 8, sparse: true), head = try Linear(24, 10)
        let sgd = try SGD(embed.parameters() + head.parameters(), learningRate: 0.1)
        weak var weakLoss: Tensor?, weakLogits: Tensor?
        try {
            let logits = head(try embed(Tensor(indices: [[1, 2, 3], [4, 5, 6]])).reshape([2, 24]))
            let loss = try crossEntropy(logits, Tensor(indices: [1, 2]))
            loss.backward()
            try sgd.step()
            weakLoss = loss
            weakLogits = logits
        }()
        #expect(weakLoss == nil && weakLogits == nil, "the autograd graph outlived its step")
    }

    @Test("RSS stays flat over 600 training steps of the seed-000 model and of W9's model (child process)")
    func residentSetStaysFlat() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let result = folder + "/rss.txt"
        let child = try spawnTestChild(["EK_MEMORY_CHILD": "1", "EK_MEMORY_RESULT": result], test: "memoryChild")
        #expect(child.wait() == .exited(0), "the child failed (under ASan: a LeakSanitizer report is a non-zero exit)")
        let lines = try String(contentsOfFile: result, encoding: .utf8).split(separator: "\n")
        for line in lines {
            // "<model> <steps> <warm-up steps> <RSS after the warm-up> <RSS at the end> <first pass's mean loss> <last pass's> <seconds>"
            let f = line.split(separator: " ")
            let (name, steps, warmUp, warm, end) = (f[0], Int(f[1])!, Int(f[2])!, Int(f[3])!, Int(f[4])!)
            print("memory: \(name): RSS \(warm >> 10) KiB after \(warmUp) warm-up steps, \(end >> 10) KiB after \(steps - warmUp) more (\((end - warm) >> 10) KiB); loss \(f[5]) -> \(f[6]); \(f[7]) s")
            #expect(end - warm < 8 << 20, "\(name): RSS grew by \((end - warm) >> 10) KiB over \(steps - warmUp) steps")
            #expect(Float(f[6])! < Float(f[5])!, "\(name): the loss did not fall, so the loop did not train")
        }
        #expect(lines.map { $0.split(separator: " ")[0] } == ["seed000", "w9"])
    }
}

/// The child half of `residentSetStaysFlat`: runs only when started with EK_MEMORY_CHILD set.
@Test(.enabled(if: ProcessInfo.processInfo.environment["EK_MEMORY_CHILD"] != nil))
func memoryChild() throws { try MemoryTests.childRun() }

extension MemoryTests {
    static func childRun() throws {
        var report = ""
        // Runs `steps` steps (step k trains on batch k % batches); reports the RSS after the warm-up
        // and at the end, and the mean loss over the first and over the last pass through the batches.
        func measure(_ name: String, steps: Int, warmUp: Int, batches: Int, _ step: (Int) throws -> Float) rethrows {
            let start = Date()
            var losses: [Float] = [], warm = 0
            for k in 0..<steps {
                losses.append(try step(k))
                if k == warmUp - 1 { warm = residentBytes() }
            }
            let end = residentBytes(), seconds = String(format: "%.1f", Date().timeIntervalSince(start))
            let first = losses.prefix(batches).reduce(0, +) / Float(batches), last = losses.suffix(batches).reduce(0, +) / Float(batches)
            report += "\(name) \(steps) \(warmUp) \(warm) \(end) \(first) \(last) \(seconds)\n"
        }
        // The seed-000 model (Examples/Sources/SeedExamples/Seed000.swift: sparse Embedding(10, 20), a
        // one-layer TransformerEncoder with dropout 0.1 in training mode, Linear(60, 10)), rebuilt here
        // so the library's tests need no example code; trained as the document does: CrossEntropyLoss,
        // SGD(lr 0.01), DataLoader(batch 2) over its three sentences.
        do {
            let net = try LastWordNet(generator: Generator(seed: 31))
            let sgd = try SGD(net.parameters(), learningRate: 0.01)
            let lossFunction = CrossEntropyLoss()
            let input = Tensor(indices: [[0, 1, 2], [0, 4, 5], [0, 7, 8]]), target = Tensor(indices: [[3], [6], [9]])
            let batches = Array(try DataLoader(try TensorDataset(input, target), batchSize: 2))
            try measure("seed000", steps: 600, warmUp: 100, batches: batches.count) { k in
                let batch = batches[k % batches.count]
                sgd.zeroGrad()
                let loss = try lossFunction(try net(batch[0]), batch[1].view([-1]))
                loss.backward()
                try sgd.step()
                return loss.item
            }
        }
        // W9 at its real sizes. The 51 MB table is filled once before the warm-up, so the warm-up RSS
        // already holds it; what the steps allocate (bag output, sparse gradient rows, logits) must be
        // given back every step.
        do {
            let g = Generator(seed: 32)
            let bag = try EmbeddingBag(count: W9.vocabulary, dimension: W9.dimension, mode: .mean, sparse: true, generator: g)
            let head = try Linear(W9.dimension, W9.classes, generator: g)
            let sgd = try SGD(bag.parameters() + head.parameters(), learningRate: 0.1)
            let inputs = (0..<W9.batches).map { _ in Tensor.randint(0, W9.vocabulary, [W9.batch, W9.tokens], generator: g) }
            let targets = (0..<W9.batches).map { _ in Tensor.randint(0, W9.classes, [W9.batch], generator: g) }
            try measure("w9", steps: 600, warmUp: 100, batches: W9.batches) { k in
                try w9Step(bag, head, sgd, inputs[k % W9.batches], targets[k % W9.batches])
            }
        }
        try report.write(toFile: ProcessInfo.processInfo.environment["EK_MEMORY_RESULT"]!, atomically: false, encoding: .utf8)
    }
}

/// Seed 000's last-word model: Embedding(10, 20, sparse) -> one-layer TransformerEncoder ->
/// Linear(3 * 20, 10) over the flattened three-word context.
private final class LastWordNet: Module {
    let embed: Embedding
    let transformerEncoder: TransformerEncoder
    let lin: Linear
    var isTraining = true

    init(generator: Generator) throws {
        embed = try Embedding(count: 10, dimension: 20, sparse: true, generator: generator)
        transformerEncoder = try TransformerEncoder(TransformerEncoderLayer(dModel: 20, nHead: 2, generator: generator), numLayers: 1)
        lin = try Linear(3 * 20, 10, generator: generator)
    }

    func callAsFunction(_ input: Tensor) throws -> Tensor {
        let out = transformerEncoder(try embed(input))
        return lin(out.reshape([out.size(0), out.size(1) * out.size(2)]))
    }
}
