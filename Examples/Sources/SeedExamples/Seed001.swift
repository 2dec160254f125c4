import EmbeddingKit

/// Seed 001 (the notebook "embedding_layer", January 2023; no public address known): `nn.Embedding(10, 3)` as a lookup
/// table, the shapes of lookups, an out-of-range index, and a batch of 64 embedded labels
/// concatenated after noise, then unsqueezed for a time-series shape.
///
/// The document draws its weights, indices and noise without a seed; here they come from a seeded
/// generator of the example's own (`Generator(seed: 1)`, passed to each call), so the values differ
/// from the document's but the shapes and the structure of every printed line are the same, and the
/// process-wide default generator — which other code, other tests, may be using — is left alone.
public enum Seed001: SeedExample {
    public static let name = "seed001"
    public static let summary = "Embedding(10, 3) as a lookup table; shapes; index 10 out of range; cat after noise; unsqueeze"

    public static func run(output: (String) -> Void) throws {
        func print(_ items: Any...) { output(SeedExamples.line(items)) }
        // the document has no seed; a generator of its own makes the Swift run reproducible
        let generator = Generator(seed: 1)

        // emb = nn.Embedding(10, 3)
        var emb = try Embedding(count: 10, dimension: 3, generator: generator)
        // print(emb.weight)
        print(SeedExamples.parameter(emb.weight))

        // X = torch.randint(0, 10, (10, ))
        var X = Tensor.randint(0, 10, [10], generator: generator)
        // print(X.shape)
        print(X.torchSize)

        // out = emb(X)
        var out = try emb(X)
        // print(out.shape)
        print(out.torchSize)

        // X = torch.randint(0, 10, (5, ))
        X = Tensor.randint(0, 10, [5], generator: generator)
        // print(X.shape)
        print(X.torchSize)

        // out = emb(X)
        out = try emb(X)
        // print(out.shape)
        print(out.torchSize)

        // print(X)
        print(X)

        // print(emb.weight)
        print(SeedExamples.parameter(emb.weight))

        // print(emb(torch.tensor([0,1])))
        print(try emb(Tensor(indices: [0, 1])))
        // print(emb(torch.tensor([2, 3, 4])))
        print(try emb(Tensor(indices: [2, 3, 4])))

        // print(emb(torch.tensor([10])))
        // this will throw an error: IndexError: index out of range in self
        do {
            print(try emb(Tensor(indices: [10])))
        } catch {
            print("EmbeddingKitError.\(error.kind):", error.message)
        }

        // emb = nn.Embedding(10, 3)
        emb = try Embedding(count: 10, dimension: 3, generator: generator)

        // labels = torch.randint(0, 10, (64, ))
        let labels = Tensor.randint(0, 10, [64], generator: generator)
        // print(labels.shape)
        print(labels.torchSize)

        // X = torch.randn(64, 10)
        X = Tensor.randn([64, 10], generator: generator)
        // print(X.shape)
        print(X.torchSize)

        // emb_out = emb(labels)
        let embOut = try emb(labels)
        // print(emb_out.shape)
        print(embOut.torchSize)

        // cat = torch.cat((X, emb_out), dim=1)
        var cat = Tensor.cat([X, embOut], dim: 1)
        // print(cat.shape)
        print(cat.torchSize)

        // print(X[0])
        print(X[0])
        // print(emb.weight[0])
        print(emb.weight[0])

        // Not in the document: row 0 of `cat` ends with emb_out[0] = emb.weight[labels[0]], which is
        // emb.weight[0] only when labels[0] is 0 (the document's cat[0] indeed does not end with its
        // emb.weight[0]). Printed so that the concatenation can be checked.
        print(embOut[0])

        // print(cat[0])
        print(cat[0])

        // cat = cat.unsqueeze(-1)
        cat = cat.unsqueeze(-1)
        // print(cat.shape)
        print(cat.torchSize)

        // cat[0]            (the notebook shows the cell's value)
        print(cat[0])
    }
}
