import EmbeddingKit

/// Seed 000 (a PyTorch forums question, https://discuss.pytorch.org/t/
/// different-prediction-results-update-different-weights-in-the-model/64997): a last-word model — `Embedding(10, 20, sparse: true)`, a
/// one-layer `TransformerEncoder`, `Linear(60, 10)` — trained with SGD on three sentences; the
/// embedding's gradient is sparse, with rows only for the batch's words. The document ends with a
/// question: how to update different embeddings depending on what the model predicted. The last
/// part answers it with `restrictGradient(toRows:)`, called after the forward pass.
public enum Seed000: SeedExample {
    public static let name = "seed000"
    public static let summary = "last-word model: sparse Embedding + TransformerEncoder + Linear, SGD; sparse gradients; rows chosen after the prediction"

    /// The vocabulary of the document's three sentences, by word index.
    public static let vocabulary = ["I", "ate", "an", "apple", "went", "to", "park", "slept", "all", "day"]

    /// `class Net(nn.Module)` of the document. `output` receives what its `forward` prints (nil: silent).
    public final class Net: Module {
        public let embed: Embedding
        public let transformerEncoderLayer: TransformerEncoderLayer
        public let transformerEncoder: TransformerEncoder
        public let lin: Linear
        public let softmax = Softmax(dim: -1)
        public var isTraining = true
        var output: ((String) -> Void)?

        /// `generator` draws the initial weights and the dropout masks (tests pass their own, so that
        /// nothing else drawing from the process-wide generator changes the model).
        public init(generator: Generator = .default, output: ((String) -> Void)? = nil) throws(EmbeddingKitError) {
            embed = try Embedding(count: 10, dimension: 20, sparse: true, generator: generator)
            transformerEncoderLayer = try TransformerEncoderLayer(dModel: 20, nHead: 2, generator: generator)
            transformerEncoder = try TransformerEncoder(transformerEncoderLayer, numLayers: 1)
            lin = try Linear(3 * 20, 10, generator: generator)
            self.output = output
        }

        public var directParameters: [(name: String, tensor: Tensor)] { [] }
        // registration order of the document's __init__, so names and order match named_parameters()
        public var children: [(name: String, module: any Module)] {
            [("embed", embed), ("transformer_encoder_layer", transformerEncoderLayer),
             ("transformer_encoder", transformerEncoder), ("lin", lin), ("softmax", softmax)]
        }

        public func callAsFunction(_ input: Tensor) throws -> Tensor {
            func print(_ items: Any...) { output?(SeedExamples.line(items)) }
            // embedded_input = self.embed(input)
            let embeddedInput = try embed(input)
            // print(input.size(0), input.size(1))
            print(input.size(0), input.size(1))
            // print('embedded_input.shape', embedded_input.shape)
            print("embedded_input.shape", embeddedInput.torchSize)
            // out = self.transformer_encoder(embedded_input)
            var out = transformerEncoder(embeddedInput)
            // out = out.reshape(out.size(0), out.size(1)*out.size(2))
            out = out.reshape([out.size(0), out.size(1) * out.size(2)])
            // out = self.lin(out)
            out = lin(out)
            // print('out.shape', out.shape)
            print("out.shape", out.torchSize)
            // print(self.softmax(out))
            if output != nil { print(softmax(out)) }
            return out
        }
    }

    /// The document's data: `I ate an | apple`, `I went to | park`, `I slept all | day`.
    public static var input: Tensor { Tensor(indices: [[0, 1, 2], [0, 4, 5], [0, 7, 8]]) }
    public static var target: Tensor { Tensor(indices: [[3], [6], [9]]) }

    /// Trains a fresh `Net` (weights and dropout from `Generator(seed: seed)`) for `epochs` passes over the two batches with
    /// the document's SGD(lr=0.01); `output` receives the document's prints. Returns the net and the
    /// loss of every step.
    public static func train(epochs: Int, seed: UInt64 = 0, output: ((String) -> Void)? = nil) throws
        -> (net: Net, losses: [Float]) {
        func print(_ items: Any...) { output?(SeedExamples.line(items)) }
        // net = Net()
        let net = try Net(generator: Generator(seed: seed), output: output)
        // optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        let optimizer = try SGD(net.parameters(), learningRate: 0.01)
        // loss_fn = nn.CrossEntropyLoss()
        let lossFunction = CrossEntropyLoss()
        let dataset = try DataLoader(TensorDataset(input, target), batchSize: 2)
        var lossPlot: [Float] = []
        // for num_epochs in range(10):
        for _ in 0..<epochs {
            // for i, (input, target) in enumerate(dataset):
            for batch in dataset {
                // optimizer.zero_grad()
                optimizer.zeroGrad()
                // loss = loss_fn(net(input), target.view(-1))
                let loss = try lossFunction(try net(batch[0]), batch[1].view([-1]))
                // loss_plot.append(loss)
                lossPlot.append(loss.item)
                // loss.backward()
                loss.backward()
                // for name, param in net.named_parameters(): if 'embed' in name: print(name, param.grad)
                for (name, param) in net.namedParameters() where name.contains("embed") {
                    print(name, param.grad.map { "\($0)" } ?? "None")
                }
                // optimizer.step()
                try optimizer.step()
            }
        }
        net.output = nil   // the printing closure must not outlive the call
        return (net, lossPlot)
    }

    /// The most likely last word for each row of `prefixes` (`[N, 3]` word indices), in eval mode.
    public static func predict(_ net: Net, _ prefixes: Tensor) throws -> [String] {
        net.eval()
        defer { net.train() }
        return try withoutGradients { try net(prefixes).argmax(dim: 1).indices.map { vocabulary[Int($0)] } }
    }

    public static func run(output: (String) -> Void) throws {
        func print(_ items: Any...) { output(SeedExamples.line(items)) }

        // list(tensor_dataset)
        let tensorDataset = try TensorDataset(input, target)
        print("[" + (0..<tensorDataset.count).map { i in
            let s = tensorDataset[i]
            return "(\(s[0]), \(s[1]))"
        }.joined(separator: ",\n ") + "]")

        // for i, (input, target) in enumerate(dataset): print('i', i, '\ninput', input, '\ntarget', target)
        for (i, batch) in try DataLoader(tensorDataset, batchSize: 2).enumerated() {
            print("i", i, "\ninput", batch[0], "\ntarget", batch[1])
        }

        // the training loop, printing what the document prints (10 epochs)
        let (net, losses) = try withoutActuallyEscaping(output) { out in try train(epochs: 10, output: out) }
        print("loss, first and last step:", losses.first!, losses.last!)
        let predictions = try predict(net, input)
        for (row, word) in predictions.enumerated() {
            let prefix = input.indices[(row * 3)..<(row * 3 + 3)].map { vocabulary[Int($0)] }.joined(separator: " ")
            print("prediction:", prefix, "->", word)
        }

        // The document's open question: update different embeddings based on what the model predicted.
        // After the forward pass and backward(), and before the step, name the rows the step may change.
        print("\n# choosing rows after the prediction")
        let optimizer = try SGD(net.parameters(), learningRate: 0.01)
        optimizer.zeroGrad()
        let logits = try net(input)
        let predicted = logits.argmax(dim: 1).indices
        try CrossEntropyLoss()(logits, target.view([-1])).backward()
        // A rule that depends on the prediction: a sentence predicted wrongly lets all its words learn;
        // one predicted rightly lets only the word just before the gap learn ("an", "to", "all").
        var rows = Set<Int>()
        for sentence in 0..<3 {
            let words = input.indices[(sentence * 3)..<(sentence * 3 + 3)].map(Int.init)
            if predicted[sentence] != target.indices[sentence] { rows.formUnion(words) } else { rows.insert(words[2]) }
        }
        net.embed.weight.restrictGradient(toRows: rows.sorted())
        let before = net.embed.weight.scalars
        try optimizer.step()
        let after = net.embed.weight.scalars
        let changed = (0..<10).filter { r in (0..<20).contains { before[r * 20 + $0] != after[r * 20 + $0] } }
        print("predicted:", predicted.map { vocabulary[Int($0)] }.joined(separator: ", "))
        print("rows allowed to change:", rows.sorted().map { vocabulary[$0] }.joined(separator: ", "))
        print("rows the step changed: ", changed.map { vocabulary[$0] }.joined(separator: ", "))
    }
}
