import Foundation
import Glibc
import Testing
@testable import EmbeddingKit

/// Long training loops keep a flat resident set: no per-step leak (an autograd graph kept alive, an
/// optimizer state that grows, sparse gradients that keep concatenating). RSS is read from
/// /proc/self/statm in a child process (this test binary run again with only `memoryChild`), so that
/// other tests running in parallel in this process cannot move it.
@Suite("Memory", .serialized)
struct MemoryTests {
    /// Resident bytes of this process.
    static func residentBytes() -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// The seed-000-style model: sparse Embedding + Linear + cross-entropy + SGD.
    static func seedModelStep(_ embed: Embedding, _ head: Linear, _ sgd: SGD, _ g: Generator) throws -> Float {
        let input = Tensor.randint(0, 1000, [32, 3], generator: g), target = Tensor.randint(0, 200, [32], generator: g)
        sgd.zeroGrad()
        let loss = try crossEntropy(head(try embed(input).reshape([32, 96])), target)
        try loss.backward()
        sgd.step()
        return loss.item
    }

    /// W9's model, with a 20k-row table instead of 200k: EmbeddingBag(mean, sparse) + Linear(64, 100)
    /// + cross-entropy + SGD, 64 bags of 20 tokens (W9 has 256).
    static func w9Step(_ bag: EmbeddingBag, _ head: Linear, _ sgd: SGD, _ g: Generator) throws -> Float {
        let input = Tensor.randint(0, 20_000, [64, 20], generator: g), target = Tensor.randint(0, 100, [64], generator: g)
        sgd.zeroGrad()
        let loss = try crossEntropy(head(try bag(input)), target)
        try loss.backward()
        sgd.step()
        return loss.item
    }

    @Test("a training step's graph is freed when the step ends")
    func graphIsFreed() throws {
        let embed = Embedding(count: 100, dimension: 8, sparse: true), head = Linear(24, 10)
        let sgd = SGD(embed.parameters() + head.parameters(), learningRate: 0.1)
        weak var weakLoss: Tensor?, weakLogits: Tensor?
        try {
            let logits = head(try embed(Tensor(indices: [[1, 2, 3], [4, 5, 6]])).reshape([2, 24]))
            let loss = try crossEntropy(logits, Tensor(indices: [1, 2]))
            try loss.backward()
            sgd.step()
            weakLoss = loss
            weakLogits = logits
        }()
        #expect(weakLoss == nil && weakLogits == nil, "the autograd graph outlived its step")
    }

    @Test("RSS stays flat over 500 steps of the seed-000 model and of W9's model (child process)")
    func residentSetStaysFlat() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let result = folder + "/rss.txt"
        let child = try spawnTestChild(["EK_MEMORY_CHILD": "1", "EK_MEMORY_RESULT": result], test: "memoryChild")
        #expect(child.wait() == .exited(0))
        let lines = try String(contentsOfFile: result, encoding: .utf8).split(separator: "\n")
        for line in lines {
            // "<model> <rss after warm-up> <rss after the run> <first loss> <last loss>"
            let f = line.split(separator: " ")
            let (name, warm, end) = (f[0], Int(f[1])!, Int(f[2])!)
            print("memory: \(name): RSS \(warm / 1024) KiB after \(Self.warmUp) warm-up steps, \(end / 1024) KiB after \(Self.steps - Self.warmUp) more (\((end - warm) / 1024) KiB)")
            #expect(end - warm < 8 << 20, "\(name): RSS grew by \((end - warm) >> 10) KiB over \(Self.steps - Self.warmUp) steps")
            #expect(Float(f[4])! < Float(f[3])!, "\(name): the loss did not fall, so the loop did not train")
        }
        #expect(lines.count == 2)
    }
}

/// The child half of `residentSetStaysFlat`: runs only when started with EK_MEMORY_CHILD set.
@Test(.enabled(if: ProcessInfo.processInfo.environment["EK_MEMORY_CHILD"] != nil))
func memoryChild() throws { try MemoryTests.childRun() }

extension MemoryTests {
    static let warmUp = 100, steps = 600

    static func childRun() throws {
    var report = ""
    do {
        let g = Generator(seed: 31)
        let embed = Embedding(count: 1000, dimension: 32, sparse: true, generator: g), head = Linear(96, 200, generator: g)
        let sgd = SGD(embed.parameters() + head.parameters(), learningRate: 0.5)
        var first: Float = 0, last: Float = 0
        // the same 8 batches over and over, so that the loss can fall
        for step in 0..<Self.steps {
            let loss = try seedModelStep(embed, head, sgd, Generator(seed: UInt64(step % 8)))
            if step == 0 { first = loss }
            last = loss
            if step == Self.warmUp - 1 { report += "seed000-model \(residentBytes()) " }
        }
        report += "\(residentBytes()) \(first) \(last)\n"
    }
    do {
        let g = Generator(seed: 32)
        let bag = EmbeddingBag(count: 20_000, dimension: 64, mode: .mean, sparse: true, generator: g), head = Linear(64, 100, generator: g)
        let sgd = SGD(bag.parameters() + head.parameters(), learningRate: 0.5)
        var first: Float = 0, last: Float = 0
        for step in 0..<Self.steps {
            let loss = try w9Step(bag, head, sgd, Generator(seed: UInt64(step % 4)))
            if step == 0 { first = loss }
            last = loss
            if step == Self.warmUp - 1 { report += "w9-model \(residentBytes()) " }
        }
        report += "\(residentBytes()) \(first) \(last)\n"
    }
    try report.write(toFile: ProcessInfo.processInfo.environment["EK_MEMORY_RESULT"]!, atomically: false, encoding: .utf8)
}
}
