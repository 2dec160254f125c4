import Foundation
import Testing
@testable import EmbeddingKit

/// Issue 14, items 2 and 22 through the Swift API: a thread count beyond `maxThreads` throws (it used to
/// abort the process in the OpenMP runtime at the next kernel), and ReLU's gradient at NaN is PyTorch's.
@Suite("Thread count bound and ReLU at NaN")
struct ThreadsAndReluTests {
    @Test func threadCountBeyondTheMaximumThrowsAndChangesNothing() throws {
        let saved = numThreads()
        #expect(maxThreads == 1024)
        for bad in [100_000, maxThreads + 1, Int(Int32.max), 1 << 40, 0, -3, Int.min] {
            do {
                try setNumThreads(bad)
                Issue.record("setNumThreads(\(bad)) did not throw")
            } catch {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains("num_threads=\(bad)"), "\(error.message)")
            }
            #expect(numThreads() == saved)
        }
        // and a parallel kernel still runs after the refusals
        defer { try? setNumThreads(saved) }
        try setNumThreads(2)
        let x = Tensor(shape: [1 << 16], values: (0..<(1 << 16)).map { Float($0 % 7) - 3 })
        #expect(relu(x).scalars == x.scalars.map { max($0, 0) })
        try setNumThreads(maxThreads)
        #expect(numThreads() == maxThreads)
    }

    /// torch.relu(tensor([nan, -1, 2, 0, -0., inf, -inf], requires_grad=True)), backward with 0.5:
    /// x.grad = [0.5, 0, 0.5, 0, 0, 0.5, 0] (threshold_backward masks by the output; NaN <= 0 is false).
    @Test func reluGradientAtNaNPasses() throws {
        let x = Tensor(shape: [7], values: [.nan, -1, 2, 0, -0.0, .infinity, -.infinity])
        x.requiresGrad = true
        relu(x).backward(Tensor(shape: [7], values: Array(repeating: 0.5, count: 7)))
        let grad = try #require(x.grad).toDense().scalars
        #expect(grad == [0.5, 0, 0.5, 0, 0, 0.5, 0])
    }
}
