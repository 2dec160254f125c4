import Dispatch
import EmbeddingKit
import Foundation

/// Assembles the next minibatch while the current one trains, on a second thread when a core is
/// free for it.
///
/// Assembly gathers each sample's bags from random places in a feature set of hundreds of MB (cache
/// misses), and a training step is mostly serial (small layers, the sparse update's grouping). But
/// the kernels' OpenMP workers spin on their cores between parallel regions, so with no core beyond
/// the kernels' threads a second thread only takes turns with them: on 2 cores and 2 kernel threads
/// the demo trained faster with assembly in line (6.5 s against 6.8 s). Either way the batches are
/// exactly those assembled in line; only when they are built changes.
final class BatchPipeline: @unchecked Sendable {
    private let features: FeatureSet
    /// Whether `prefetch` hands the work to `queue` (else it assembles at once).
    let background: Bool
    private let queue = DispatchQueue(label: "LangID.BatchPipeline")
    private let group = DispatchGroup()
    /// Written only by the queue between `prefetch` and `take` (the group orders the two).
    private var spare = FeatureBatch()
    private var pending = false

    /// `background`: by default, when the process may use more cores than the kernels' threads.
    init(features: FeatureSet, background: Bool = ProcessInfo.processInfo.activeProcessorCount > numThreads()) {
        self.features = features
        self.background = background
    }

    /// Starts assembling `samples` into the spare batch. The spare batch is the one `take` handed
    /// back last: drop the tensors made from it first (`zeroGrad()`), or its arrays are copied.
    func prefetch(_ samples: [Int]) {
        precondition(!pending, "BatchPipeline.prefetch: the previous batch was not taken")
        pending = true
        if background {
            queue.async(group: group) { self.features.assemble(samples, into: &self.spare) }
        } else {
            features.assemble(samples, into: &spare)
        }
    }

    /// Waits for the batch `prefetch` started and swaps it into `batch` (whose buffers become the
    /// spare ones).
    func take(into batch: inout FeatureBatch) {
        precondition(pending, "BatchPipeline.take: no batch was prefetched")
        group.wait()
        pending = false
        swap(&batch, &spare)
    }
}
