import EmbeddingKit

/// Seed 002 (the notebook "nn.Embedding", embedding/embedding.ipynb of
/// https://github.com/jihoonerd/pytorch-in-action): an `Embedding(8, 4)` lookup, then
/// `padding_idx` (a zero row that training never changes) and `max_norm` (looked-up rows rescaled
/// in place, on line, to norm 1; the other rows untouched).
///
/// The document's tables are random; each module is built as the document builds it, then the
/// weights the document prints are loaded into it (`loadStateDict`), so every lookup and norm prints
/// the document's numbers (to its 4 decimals).
public enum Seed002: SeedExample {
    public static let name = "seed002"
    public static let summary = "Embedding(8, 4); padding_idx gives a zero row; max_norm renormalises looked-up rows in place"

    /// The weights the document prints for Example 1 (`In [4]`).
    static var example1Weights: Tensor { Tensor([
        [-3.3307e-01, 3.6703e-01, 1.0469e+00, 4.7747e-01],
        [1.2580e+00, -8.4635e-01, -4.5423e-01, 7.3989e-01],
        [-9.6321e-01, -5.6505e-01, 1.4820e+00, -1.4327e+00],
        [1.3749e+00, -1.1486e+00, 1.7615e+00, -1.1193e+00],
        [5.0136e-01, 3.7170e-02, -1.4641e+00, 5.2615e-01],
        [-1.3963e+00, 7.1644e-02, 1.0268e+00, 2.0797e+00],
        [1.2618e+00, 9.1458e-06, -3.5095e-02, -7.5799e-01],
        [-9.7169e-02, -1.2832e-01, 8.4959e-01, -1.2375e+00],
    ]) }

    /// The weights the document prints for Example 2 (`In [8]`), the padding row 2 already zero.
    static var example2Weights: Tensor { Tensor([
        [-0.2921, 0.3198, -1.4463, -0.0211],
        [1.6262, -1.3835, -0.6565, -0.7844],
        [0.0000, 0.0000, 0.0000, 0.0000],
        [-0.2434, 0.1026, 0.3376, 2.4716],
        [-1.1623, -0.2063, 0.7496, 0.3677],
        [-1.6133, -1.6416, 0.2389, -0.4451],
        [-1.8385, -0.1169, 0.0202, 0.8692],
        [1.0441, -0.5111, -0.8074, -0.1289],
    ]) }

    public static func run(output: (String) -> Void) throws {
        func print(_ items: Any...) { output(SeedExamples.line(items)) }
        // draws the initial tables, which the document's are loaded over (a generator of the
        // example's own: the process-wide one, which other code may be using, is left alone)
        let generator = Generator(seed: 2)

        // ## Example 1

        // embedding_layer = nn.Embedding(num_embeddings=8, embedding_dim=4)
        var embeddingLayer = try Embedding(count: 8, dimension: 4, generator: generator)
        //   (the document's random table, as it prints it)
        try embeddingLayer.loadStateDict(["weight": example1Weights])

        // embedding_layer.weight
        print(SeedExamples.parameter(embeddingLayer.weight))

        // idx = torch.IntTensor([1, 3, 4])
        var idx = Tensor(indices: [1, 3, 4])

        // embedding_layer(idx)
        print(try embeddingLayer(idx))

        // ## Example 2

        // embedding_layer = nn.Embedding(num_embeddings=8, embedding_dim=4, padding_idx=2, max_norm=1, norm_type=2)
        embeddingLayer = try Embedding(count: 8, dimension: 4, paddingIndex: 2, maxNorm: 1, normType: 2, generator: generator)
        //   (the document's random table, as it prints it: row 2, the padding row, zero)
        try embeddingLayer.loadStateDict(["weight": example2Weights])

        // embedding_layer.weight
        print(SeedExamples.parameter(embeddingLayer.weight))

        // embedding_layer.weight.norm(dim=-1)
        print(embeddingLayer.weight.norm(dim: -1))

        // embedding_layer(idx)
        print(try embeddingLayer(idx))

        // embedding_layer.weight
        print(SeedExamples.parameter(embeddingLayer.weight))

        // embedding_layer.weight.norm(dim=-1)
        print(embeddingLayer.weight.norm(dim: -1))

        // idx = torch.IntTensor([0, 2])
        idx = Tensor(indices: [0, 2])
        // embedding_layer(idx)
        _ = try embeddingLayer(idx)
        // embedding_layer.weight.norm(dim=-1)
        print(embeddingLayer.weight.norm(dim: -1))

        // idx = torch.IntTensor([7])
        idx = Tensor(indices: [7])
        // embedding_layer(idx)
        _ = try embeddingLayer(idx)
        // embedding_layer.weight.norm(dim=-1)
        print(embeddingLayer.weight.norm(dim: -1))

        // Not a cell of the document: its sentence "`padding_idx` will set the index to have zero
        // weights, which will not be updated at training stage", shown with one training step:
        //
        //   optimizer = torch.optim.SGD(embedding_layer.parameters(), lr=0.1)
        //   loss = embedding_layer(torch.tensor([[2, 1, 2], [3, 2, 7]])).pow(2).sum()
        //   loss.backward()
        //   print(embedding_layer.weight.grad[2])
        //   optimizer.step()
        //   print(embedding_layer.weight)
        let optimizer = try SGD(embeddingLayer.parameters(), learningRate: 0.1)
        let loss = try embeddingLayer(Tensor(indices: [[2, 1, 2], [3, 2, 7]])).pow(2).sum()
        loss.backward()
        print(embeddingLayer.weight.grad!.toDense()[2])
        try optimizer.step()
        print(SeedExamples.parameter(embeddingLayer.weight))
    }
}
