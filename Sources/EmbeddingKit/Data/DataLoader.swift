/// Samples stored as tensors that share their first dimension, PyTorch's `TensorDataset`:
/// sample `i` is row `i` of each tensor.
public struct TensorDataset {
    /// The tensors, each with one row per sample.
    public let tensors: [Tensor]

    /// A dataset over `tensors`, which must all have the same first dimension (the number of samples),
    /// like `TensorDataset(input, target)`. Throws `EmbeddingKitError` when there are no tensors, one is
    /// a scalar, or their first dimensions differ (PyTorch: `Size mismatch between tensors`).
    public init(_ tensors: Tensor...) throws(EmbeddingKitError) {
        guard !tensors.isEmpty else { throw EmbeddingKitError(.invalidArgument, "TensorDataset: needs at least one tensor") }
        for (i, t) in tensors.enumerated() where t.rank == 0 || t.shape[0] != tensors[0].shape[0] {
            throw EmbeddingKitError(.shape, "TensorDataset: size mismatch between tensors: tensor \(i) has shape \(t.shape), tensor 0 has \(tensors[0].shape)")
        }
        self.tensors = tensors
    }

    /// The number of samples.
    public var count: Int { tensors[0].shape[0] }

    /// Sample `i`: row `i` of every tensor.
    public subscript(_ i: Int) -> [Tensor] { tensors.map { t in withoutGradients { t[i] } } }
}

/// Batches of a `TensorDataset`, PyTorch's `DataLoader`: each batch stacks `batchSize` samples per
/// tensor (the last one smaller unless `dropLast`); `shuffle` permutes the samples each epoch with
/// `generator`, reproducibly.
public struct DataLoader: Sequence {
    /// The samples.
    public let dataset: TensorDataset
    /// The number of samples per batch (the last batch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Whether each pass over the dataset visits the samples in a new random order.
    public let shuffle: Bool
    /// Whether a last batch smaller than `batchSize` is left out.
    public let dropLast: Bool
    let generator: Generator

    /// Batches of `batchSize` samples of `dataset` (PyTorch's `DataLoader(dataset, batch_size=...,
    /// shuffle=..., drop_last=...)`); with `shuffle`, the order of each pass comes from `generator`.
    /// Throws `EmbeddingKitError` for a `batchSize` below 1 (PyTorch: `batch_size should be a positive
    /// integer value, but got batch_size=0`).
    public init(_ dataset: TensorDataset, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
                generator: Generator = .default) throws(EmbeddingKitError) {
        guard batchSize >= 1 else {
            throw EmbeddingKitError(.invalidArgument, "DataLoader: batch_size should be a positive integer value, but got batch_size=\(batchSize)")
        }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = generator
    }

    /// The number of batches per epoch.
    public var count: Int { dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize }

    /// One pass over the dataset: each element is a batch, one tensor per dataset tensor, each the
    /// batch's rows stacked along a new first dimension (`[batch, ...]`). Each call to
    /// `makeIterator()` — each `for` loop — is a new pass, reshuffled when `shuffle` is on.
    public func makeIterator() -> AnyIterator<[Tensor]> {
        var order = Array(0..<dataset.count)
        if shuffle { generator.draw { order.shuffle(using: &$0) } }
        var start = 0
        let batches = count
        var produced = 0
        return AnyIterator {
            guard produced < batches else { return nil }
            let rows = Array(order[start..<Swift.min(start + batchSize, order.count)])
            start += batchSize
            produced += 1
            return dataset.tensors.map { t in withoutGradients { Tensor.stack(rows.map { t[$0] }) } }
        }
    }
}
