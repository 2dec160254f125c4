import Dispatch

/// Assembles the next minibatch on a second thread while the current one trains.
///
/// Assembly gathers each sample's bags from random places in a feature set of hundreds of MB — cache
/// misses, about a fifth of the demo's training time when done in line — while a training step is
/// mostly serial (small layers, the sparse update's grouping), so the second core is free for it.
/// The batches are exactly those assembled in line; only when they are built changes.
final class BatchPipeline: @unchecked Sendable {
    private let features: FeatureSet
    private let queue = DispatchQueue(label: "LangID.BatchPipeline")
    private let group = DispatchGroup()
    /// Written only by the queue between `prefetch` and `take` (the group orders the two).
    private var spare = FeatureBatch()
    private var pending = false

    init(features: FeatureSet) {
        self.features = features
    }

    /// Starts assembling `samples` into the spare batch. The spare batch is the one `take` handed
    /// back last: drop the tensors made from it first (`zeroGrad()`), or its arrays are copied.
    func prefetch(_ samples: [Int]) {
        precondition(!pending, "BatchPipeline.prefetch: the previous batch was not taken")
        pending = true
        queue.async(group: group) { self.features.assemble(samples, into: &self.spare) }
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
