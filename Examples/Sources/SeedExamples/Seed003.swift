import EmbeddingKit

/// Seed 003 (Pierre Nugues's notebook "Tatoeba: PyTorch Embeddings"; a later version is
/// notebooks/11_03_pytorch_embeddings.ipynb of https://github.com/pnugues/pnlp): `Embedding(8, 5)` as a
/// lookup table, a padding row, and `EmbeddingBag(mode='sum')` with 2-D bags, with a 1-D input and
/// `offsets`, and with `per_sample_weights` — the building block of CLD3-style language
/// identification.
///
/// Each module is built as the document builds it, then the table the document prints is loaded
/// into it (`loadStateDict`), so every lookup and sum prints the document's numbers (to its
/// 4 decimals). One exception the document itself causes: its `In [9]` output does not match the
/// table printed in `In [8]` (the notebook's cells were re-run out of order: note the two `In [8]`);
/// here the lookup prints the rows of the table shown.
public enum Seed003: SeedExample {
    public static let name = "seed003"
    public static let summary = "Embedding(8, 5) lookups and padding_idx=0; EmbeddingBag(mode='sum') with 2-D bags, offsets, per-sample weights"

    /// The table the document prints for `nn.Embedding(8, 5)` after `torch.manual_seed(4321)` (`In [5]`);
    /// its `In [8]` table for `nn.Embedding(8, 5, padding_idx=0)` is the same with row 0 zero.
    static var embeddingWeights: Tensor { Tensor([
        [-0.4562, -0.9391, 1.9130, -0.7439, -0.4459],
        [-1.2780, -0.2379, 0.2242, -0.0326, -0.9581],
        [-1.5594, -0.2332, 0.6088, -0.5317, -1.3245],
        [2.0561, -0.8149, -0.7872, -2.3632, 1.0788],
        [0.8716, 0.2437, -1.5932, 0.6259, -0.4487],
        [-0.2243, 0.1594, 0.7884, -0.1794, -0.3420],
        [-1.0898, -0.2070, 0.1724, 0.1432, 0.8795],
        [0.0064, -0.6666, 0.9459, 1.7336, 0.2753],
    ]) }

    /// The table the document prints for `nn.EmbeddingBag(8, 5, mode='sum')` (`In [19]`).
    static var bagWeights: Tensor { Tensor([
        [-1.7122, 0.3235, -0.6941, -0.1128, -0.3620],
        [-0.0215, -0.3685, -0.2244, 2.4480, -1.4205],
        [-1.0848, 0.3204, -1.3139, 0.8290, -0.2611],
        [0.3025, -1.0016, -0.2019, 0.0992, -1.1972],
        [1.4835, -0.5860, 0.7933, -0.7355, -0.9182],
        [-1.0781, 0.0139, 0.6118, 1.1398, 0.1750],
        [1.0420, 0.1025, 0.6203, -0.2963, 0.2832],
        [0.8905, -0.9703, 1.7193, -0.1643, 1.8135],
    ]) }

    public static func run(output: (String) -> Void) throws {
        func print(_ items: Any...) { output(SeedExamples.line(items)) }

        // torch.manual_seed(4321)
        //   Swift: manualSeed(4321) reseeds the process-wide generator, which other code (other tests,
        //   in a test run) may be drawing from; the example draws the initial tables, which the
        //   document's are loaded over, from a generator of its own instead.
        let generator = Generator(seed: 4321)

        // ## Embeddings

        // embedding = nn.Embedding(8, 5)
        var embedding = try Embedding(count: 8, dimension: 5, generator: generator)
        //   (the document's random table, as it prints it)
        try embedding.loadStateDict(["weight": embeddingWeights])

        // embedding.weight
        print(SeedExamples.parameter(embedding.weight))

        // embedding(torch.LongTensor([3, 2]))
        print(try embedding(Tensor(indices: [3, 2])))

        // embedding = nn.Embedding(8, 5, padding_idx=0)
        embedding = try Embedding(count: 8, dimension: 5, paddingIndex: 0, generator: generator)
        //   (the document's table, as it prints it: rows 1-7 as before, PyTorch having been reseeded,
        //   and row 0, the padding row, zero)
        let padded = embeddingWeights.scalars.enumerated().map { $0.offset < 5 ? Float(0) : $0.element }
        try embedding.loadStateDict(["weight": Tensor(shape: [8, 5], values: padded)])

        // embedding
        print(describe(embedding))

        // embedding.weight
        print(SeedExamples.parameter(embedding.weight))

        // embedding(torch.LongTensor([0, 3, 2]))
        print(try embedding(Tensor(indices: [0, 3, 2])))

        // ## Embedding Bags

        // embedding_bag = nn.EmbeddingBag(8, 5, mode='sum')  # Default mean
        let embeddingBag = try EmbeddingBag(count: 8, dimension: 5, mode: .sum, generator: generator)
        //   (the document's random table, as it prints it)
        try embeddingBag.loadStateDict(["weight": bagWeights])

        // embedding_bag.weight
        print(SeedExamples.parameter(embeddingBag.weight))

        // embedding_bag(torch.tensor([[1, 2], [3, 4]]))
        print(try embeddingBag(Tensor(indices: [[1, 2], [3, 4]])))

        // embedding_bag(torch.tensor([[1]])) + embedding_bag(torch.tensor([[2]]))
        print(try embeddingBag(Tensor(indices: [[1]])) + embeddingBag(Tensor(indices: [[2]])))

        // embedding_bag.weight[3] + embedding_bag.weight[4]
        print(embeddingBag.weight[3] + embeddingBag.weight[4])

        // embedding_bag(torch.tensor([1, 2, 3, 4]), offsets=torch.tensor([0, 2]))
        print(try embeddingBag(Tensor(indices: [1, 2, 3, 4]), offsets: Tensor(indices: [0, 2])))

        // embedding_bag(torch.tensor([[1, 2], [3, 4]]), per_sample_weights=torch.tensor(
        //     [[0.5, 0.5], [0.2, 0.8]]))
        print(try embeddingBag(Tensor(indices: [[1, 2], [3, 4]]), perSampleWeights: Tensor(
            [[0.5, 0.5], [0.2, 0.8]])))

        // 0.5 * embedding_bag.weight[1] + 0.5 * embedding_bag.weight[2]
        print(0.5 * embeddingBag.weight[1] + 0.5 * embeddingBag.weight[2])

        // 0.2 * embedding_bag.weight[3] + 0.8 * embedding_bag.weight[4]
        print(0.2 * embeddingBag.weight[3] + 0.8 * embeddingBag.weight[4])

        // embedding_bag(torch.tensor([1, 2, 3, 4]),
        //               offsets=torch.tensor([0, 2]),
        //               per_sample_weights=torch.tensor([0.5, 0.5, 0.2, 0.8]))
        print(try embeddingBag(Tensor(indices: [1, 2, 3, 4]),
                               offsets: Tensor(indices: [0, 2]),
                               perSampleWeights: Tensor([0.5, 0.5, 0.2, 0.8])))
    }

    /// PyTorch's printed form of an `nn.Embedding` module (its `extra_repr`), e.g.
    /// `Embedding(8, 5, padding_idx=0)`. EmbeddingKit's modules have no printed form of their own.
    static func describe(_ e: Embedding) -> String {
        var parts = ["\(e.count)", "\(e.dimension)"]
        if let p = e.paddingIndex { parts.append("padding_idx=\(p)") }
        if let m = e.maxNorm { parts.append("max_norm=\(m)") }
        if e.normType != 2 { parts.append("norm_type=\(e.normType)") }
        if e.scaleGradByFrequency { parts.append("scale_grad_by_freq=True") }
        if e.sparse { parts.append("sparse=True") }
        return "Embedding(\(parts.joined(separator: ", ")))"
    }
}
