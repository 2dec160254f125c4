import CKernels
import Dispatch
import Synchronization
import Testing
@testable import EmbeddingKit

/// Inference (forward without maxNorm) from several threads at once on ONE module is safe and gives
/// exactly the serial results: the modules only read their tables, autograd's recording state is
/// task-local, and the kernels keep no shared scratch. Both small inputs (serial kernels) and inputs
/// above the kernels' parallel threshold (OpenMP teams started from several threads at once) run.
/// Covered: Embedding, EmbeddingBag (mean, max), Linear; TransformerEncoder (attention, LayerNorm,
/// feed-forward) and a Sequential (EmbeddingBag, Linear, GELU, LayerNorm, Softmax) in eval mode; and
/// Dropout in training mode, whose shared generator hands out the serial masks in some order. What
/// is not thread-safe (maxNorm, training, loading, train/eval) is documented on each type.
@Suite("Concurrent inference")
struct ConcurrencyTests {
    /// The modules and their inputs: Sendable, checked by the compiler (modules and tensors are Sendable).
    struct Shared: Sendable {
        let embed = try! Embedding(count: 1000, dimension: 64, generator: Generator(seed: 21))
        let bagMean = try! EmbeddingBag(count: 1000, dimension: 64, mode: .mean, generator: Generator(seed: 22))
        let bagMax = try! EmbeddingBag(count: 1000, dimension: 64, mode: .max, paddingIndex: 0, generator: Generator(seed: 23))
        let head = try! Linear(64, 32, generator: Generator(seed: 24))
        let inputs: [(indices: Tensor, offsets: Tensor)]
    }

    static let outputNames = ["embedding", "bag mean", "bag max", "linear", "linear without gradients"]

    /// Every result of job `j` as bit patterns: embedding rows, both bags, and the Linear head over
    /// the mean bag, with and without autograd recording.
    static func run(_ s: Shared, _ j: Int) throws -> [[UInt32]] {
        let (indices, offsets) = s.inputs[j]
        let rows = try s.embed(indices)
        let mean = try s.bagMean(indices, offsets: offsets)
        let max = try s.bagMax(indices, offsets: offsets)
        let logits = s.head(mean)
        let quiet = try withoutGradients { s.head(try s.bagMean(indices, offsets: offsets)) }
        return [rows, mean, max, logits, quiet].map { $0.scalars.map(\.bitPattern) }
    }

    @Test("Embedding, EmbeddingBag (mean, max) and Linear forwards from 8 threads equal the serial results")
    func parallelForwardEqualsSerial() throws {
        let generator = Generator(seed: 25)
        var inputs: [(indices: Tensor, offsets: Tensor)] = []
        for job in 0..<24 {
            // every third job is large: 2048 indices x 64 = 131072 elements, above the parallel threshold
            let n = job % 3 == 0 ? 2048 : 7 + job
            let indices = Tensor.randint(0, 1000, [n], generator: generator)
            let bags = max(1, n / 8)
            let starts: [Int64] = (0..<bags).map { Int64($0 * (n / bags)) }
            let offsets = Tensor(shape: [bags], indices: starts)
            inputs.append((indices, offsets))
        }
        let s = Shared(inputs: inputs)
        let modules: [any Module] = [s.embed, s.bagMean, s.bagMax, s.head]
        let before = modules.map { $0.parameters().map { $0.scalars.map(\.bitPattern) } }
        let results = Mutex<[Int: [[UInt32]]]>([:])
        let failures = Mutex<[String]>([])
        let previousThreads = ek_get_num_threads()
        defer { _ = ek_set_num_threads(previousThreads) }
        for threads in [1, 2] {
            #expect(ek_set_num_threads(Int32(threads)) == EK_OK)
            // serial results at the same thread count (results are bit-identical across thread counts
            // too, MatmulDeterminismTests; here the thread count only changes which paths run)
            let serial = try (0..<s.inputs.count).map { try Self.run(s, $0) }
            results.withLock { $0 = [:] }
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                // each worker runs every job, starting at a different one, so jobs overlap in time
                for k in 0..<s.inputs.count {
                    let job = (k + worker * 3) % s.inputs.count
                    do {
                        let got = try Self.run(s, job)
                        if worker == 0 { results.withLock { $0[job] = got } }
                        if got != serial[job] {
                            let which = (0..<got.count).filter { got[$0] != serial[job][$0] }.map { Self.outputNames[$0] }
                            failures.withLock { $0.append("threads \(threads), worker \(worker), job \(job): \(which)") }
                        }
                    } catch {
                        failures.withLock { $0.append("worker \(worker), job \(job): \(error)") }
                    }
                }
            }
            #expect(failures.withLock { $0 } == [], "results differ from the serial ones")
            #expect(results.withLock { $0.count } == s.inputs.count)
        }
        let after = modules.map { $0.parameters().map { $0.scalars.map(\.bitPattern) } }
        #expect(after == before, "inference changed a weight")
    }

    /// Composites in evaluation mode: a two-layer TransformerEncoder (attention, LayerNorm, ReLU
    /// feed-forward, final norm; its dropouts off) and a Sequential of EmbeddingBag, Linear, GELU,
    /// LayerNorm, Linear and Softmax, each called from 8 threads at once, with and without gradient
    /// recording, at 1 and 2 kernel threads: bit-identical to the serial results, weights untouched.
    @Test("TransformerEncoder and Sequential (eval mode) from 8 threads equal the serial results")
    func compositesInEvalModeFromEightThreadsEqualSerial() throws {
        let s = try Composites()
        let modules: [any Module] = [s.encoder, s.mlp]
        let before = modules.map { $0.parameters().map { $0.scalars.map(\.bitPattern) } }
        let failures = Mutex<[String]>([])
        let previousThreads = ek_get_num_threads()
        defer { _ = ek_set_num_threads(previousThreads) }
        for threads in [1, 2] {
            #expect(ek_set_num_threads(Int32(threads)) == EK_OK)
            let serial = try (0..<s.jobs.count).map { try s.run($0) }
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for k in 0..<s.jobs.count {
                    let job = (k + worker * 5) % s.jobs.count
                    do {
                        if try s.run(job) != serial[job] {
                            failures.withLock { $0.append("threads \(threads), worker \(worker), job \(job)") }
                        }
                    } catch {
                        failures.withLock { $0.append("worker \(worker), job \(job): \(error)") }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 } == [], "results differ from the serial ones")
        let after = modules.map { $0.parameters().map { $0.scalars.map(\.bitPattern) } }
        #expect(after == before, "inference changed a weight")
    }

    /// The composites and their inputs, shared by the worker threads (which only read them).
    struct Composites: Sendable {
        let encoder: TransformerEncoder, mlp: Sequential
        let jobs: [(src: Tensor, tokens: Tensor)]

        init() throws {
            let g = Generator(seed: 26)
            encoder = try TransformerEncoder(try TransformerEncoderLayer(dModel: 32, nHead: 4, dimFeedforward: 128, dropout: 0.1, generator: g),
                                         numLayers: 2, norm: try LayerNorm(32))
            mlp = Sequential(try EmbeddingBag(count: 500, dimension: 32, mode: .sum, generator: g), try Linear(32, 64, generator: g), GELU(),
                             try LayerNorm(64), try Linear(64, 10, generator: g), Softmax(dim: -1))
            encoder.eval()
            mlp.eval()
            // every fourth job is large: [32, 16, 32] (512 rows; the feed-forward's 512 x 128 is above
            // the kernels' parallel threshold), the others small
            jobs = (0..<16).map { job in
                let (l, n) = job % 4 == 0 ? (32, 16) : (3 + job % 5, 1 + job % 3)
                return (Tensor.randn([l, n, 32], generator: g), Tensor.randint(0, 500, [n * 4, 6], generator: g))
            }
        }

        /// Job `j`'s outputs as bit patterns: both composites, with and without gradient recording.
        func run(_ j: Int) throws -> [[UInt32]] {
            let outputs = [encoder(jobs[j].src), try mlp(jobs[j].tokens),
                           withoutGradients { encoder(jobs[j].src) }, try withoutGradients { try mlp(jobs[j].tokens) }]
            return outputs.map { $0.scalars.map(\.bitPattern) }
        }
    }

    /// Dropout in training mode shares its generator between threads: each call takes one draw under
    /// the generator's lock, so concurrent calls are safe and get distinct masks — exactly the masks
    /// of as many serial calls from the same seed, in an order that depends on the scheduling. (For
    /// masks that do not depend on it, give each thread its own generator.)
    @Test("Dropout in training mode from 8 threads: the serial calls' masks, in some order")
    func trainingDropoutFromEightThreadsDrawsTheSerialMasks() throws {
        let x = Tensor.ones([40_000])       // above the kernels' parallel threshold
        let calls = 8 * 6
        let serialDropout = try Dropout(0.5, generator: Generator(seed: 27))
        let serial = Set((0..<calls).map { _ in serialDropout(x).scalars.map(\.bitPattern) })
        #expect(serial.count == calls)
        struct Shared: Sendable {
            let dropout = try! Dropout(0.5, generator: Generator(seed: 27)), x: Tensor
        }
        let shared = Shared(x: x)
        let masks = Mutex<[[UInt32]]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<(calls / 8) {
                let y = shared.dropout(shared.x).scalars.map(\.bitPattern)
                masks.withLock { $0.append(y) }
            }
        }
        let concurrent = masks.withLock { $0 }
        #expect(concurrent.count == calls)
        #expect(Set(concurrent) == serial, "concurrent training-mode dropout lost or repeated a draw")
        #expect(concurrent.allSatisfy { $0.allSatisfy { $0 == Float(0).bitPattern || $0 == Float(2).bitPattern } })
    }

    /// A custom module (not Sendable itself) shared through `InferenceModel` by concurrent tasks,
    /// in Swift 6 mode without `@unchecked` or `nonisolated(unsafe)`.
    final class Classifier: Module {
        let bag = try! EmbeddingBag(count: 100, dimension: 8, mode: .sum, generator: Generator(seed: 28))
        let head = try! Linear(8, 3, generator: Generator(seed: 29))
        let dropout = try! Dropout(0.5)
        var isTraining = true
        func callAsFunction(_ indices: Tensor, offsets: Tensor) throws -> Tensor {
            dropout(head(try bag(indices, offsets: offsets)))
        }
    }

    @Test("InferenceModel shares a custom module between tasks; results equal the serial ones")
    func inferenceModelAcrossTasks() async throws {
        let shared = InferenceModel(Classifier())
        #expect(!shared.module.dropout.isTraining)
        let g = Generator(seed: 30)
        let batches = (0..<16).map { _ in (Tensor.randint(0, 100, [12], generator: g), Tensor([0, 3, 7])) }
        let serial = try batches.map { b in try shared { try $0(b.0, offsets: b.1) } }
        let concurrent = try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
            for (i, b) in batches.enumerated() {
                group.addTask { (i, try shared { try $0(b.0, offsets: b.1) }) }
            }
            var out = [Int: Tensor]()
            for try await (i, t) in group { out[i] = t }
            return out
        }
        for i in batches.indices { #expect(concurrent[i] == serial[i]) }
    }
}
