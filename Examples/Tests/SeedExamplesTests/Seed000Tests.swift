import Testing
@testable import EmbeddingKit
@testable import SeedExamples

/// Seed 000: the last-word model trains, its embedding gradient is sparse with the batch's words
/// only, the other words keep their values through each step, and rows chosen after the prediction
/// are the only ones a step changes.
@Suite("Seed 000: last-word model")
struct Seed000Tests {
    @Test func parameterNamesAreTheDocumentsModules() throws {
        let names = try Seed000.Net().namedParameters().map(\.name)
        #expect(names.first == "embed.weight")
        #expect(names.contains("transformer_encoder_layer.self_attn.in_proj_weight"))
        #expect(names.contains("transformer_encoder.layers.0.self_attn.out_proj.weight"))
        #expect(names.contains("transformer_encoder.layers.0.norm2.bias"))
        #expect(names.suffix(2) == ["lin.weight", "lin.bias"])
        // what PyTorch reports for the document's Net: 27 parameters, 172,306 values (the registered
        // template layer counts too, as in PyTorch)
        let parameters = try Seed000.Net().parameters()
        let total = parameters.reduce(0) { $0 + $1.count }
        #expect(parameters.count == 27)
        #expect(total == 172_306)
    }

    @Test func trainsAndPredictsTheLastWords() throws {
        let (net, losses) = try Seed000.train(epochs: 10)
        #expect(losses.count == 20)
        let firstEpoch = (losses[0] + losses[1]) / 2, lastEpoch = (losses[18] + losses[19]) / 2
        #expect(lastEpoch < firstEpoch / 4, "loss \(firstEpoch) -> \(lastEpoch)")
        #expect(try Seed000.predict(net, Seed000.input) == ["apple", "park", "day"])
    }

    @Test func embeddingGradientIsSparseOverTheBatchWordsAndOthersStayPut() throws {
        let net = try Seed000.Net(generator: Generator(seed: 3))
        let optimizer = try SGD(net.parameters(), learningRate: 0.01)
        for (batch, expectedRows) in zip(try DataLoader(try TensorDataset(Seed000.input, Seed000.target), batchSize: 2),
                                         [[0, 1, 2, 0, 4, 5], [0, 7, 8]] as [[Int64]]) {
            optimizer.zeroGrad()
            try CrossEntropyLoss()(try net(batch[0]), batch[1].view([-1])).backward()
            let grad = try #require(net.embed.weight.grad?.sparse, "the embedding gradient must be sparse")
            #expect(grad.rows.indices == expectedRows)
            #expect(grad.shape == [10, 20])
            let before = net.embed.weight.scalars
            try optimizer.step()
            let after = net.embed.weight.scalars
            for row in 0..<10 {
                let moved = (0..<20).contains { before[row * 20 + $0] != after[row * 20 + $0] }
                #expect(moved == expectedRows.contains(Int64(row)), "row \(row) (\(Seed000.vocabulary[row])) moved: \(moved)")
            }
        }
    }

    @Test func rowsChosenAfterThePredictionAreTheOnlyOnesThatChange() throws {
        let net = try Seed000.Net(generator: Generator(seed: 4))
        let optimizer = try SGD(net.parameters(), learningRate: 0.5, momentum: 0.9, weightDecay: 0.1)
        let logits = try net(Seed000.input)
        let predicted = logits.argmax(dim: 1).indices
        try CrossEntropyLoss()(logits, Seed000.target.view([-1])).backward()
        // depends on the prediction: the first sentence's words if it was wrong, else only "I"
        let allowed: [Int] = predicted[0] == 3 ? [0] : [0, 1, 2]
        net.embed.weight.restrictGradient(toRows: allowed)
        let before = net.embed.weight.scalars
        try optimizer.step()
        let after = net.embed.weight.scalars
        for row in 0..<10 {
            let same = (0..<20).allSatisfy { before[row * 20 + $0].bitPattern == after[row * 20 + $0].bitPattern }
            #expect(same == !allowed.contains(row), "row \(row): unchanged \(same), allowed \(allowed)")
        }
    }

    @Test func exampleOutputShowsTheDocumentsShapesAndAnswersItsQuestion() throws {
        var lines: [String] = []
        try Seed000.run { lines.append($0) }
        #expect(lines.contains("2 3"))
        #expect(lines.contains("embedded_input.shape torch.Size([2, 3, 20])"))
        #expect(lines.contains("out.shape torch.Size([1, 10])"))
        #expect(lines.contains { $0.hasPrefix("embed.weight tensor(indices=tensor([[0, 1, 2, 0, 4, 5]]),") && $0.hasSuffix("size=(10, 20), nnz=6, layout=torch.sparse_coo)") })
        #expect(lines.contains { $0.hasPrefix("embed.weight tensor(indices=tensor([[0, 7, 8]]),") && $0.hasSuffix("nnz=3, layout=torch.sparse_coo)") })
        #expect(lines.contains("prediction: I ate an -> apple"))
        #expect(lines.contains("prediction: I slept all -> day"))
        let allowed = try #require(lines.first { $0.hasPrefix("rows allowed to change:") })
        let changed = try #require(lines.first { $0.hasPrefix("rows the step changed:") })
        #expect(allowed.split(separator: ":")[1].trimmingCharacters(in: .whitespaces) == changed.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
    }
}
