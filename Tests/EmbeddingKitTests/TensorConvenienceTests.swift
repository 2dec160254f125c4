import Testing
@testable import EmbeddingKit

/// Issue 17: integer literals give int64, numel, array export, argmax over all elements, `==`.
@Suite("Tensor conveniences")
struct TensorConvenienceTests {
    @Test("integer literals make an int64 tensor; one float literal makes float32")
    func literals() throws {
        let target = Tensor([3, 6])
        #expect(target.dtype == .int64 && target.indices == [3, 6])
        let floats = Tensor([3.0, 6])
        #expect(floats.dtype == .float32 && floats.scalars == [3, 6])
        #expect(Tensor([1.5, 2]).dtype == .float32)
        let values: [Float] = [1, 2]
        #expect(Tensor(values).dtype == .float32)
        #expect(Tensor([[1.0, 2], [3, 4]]).dtype == .float32)
        #expect(Tensor([[1, 2], [3, 4]]).dtype == .int64 && Tensor([[1, 2], [3, 4]]).shape == [2, 2])  // as torch.tensor
        #expect(Tensor([[[1, 2]], [[3, 4]]]).dtype == .int64 && Tensor([[[1.0, 2]], [[3, 4]]]).dtype == .float32)
        // the int64 literal works as a target
        let loss = try crossEntropy(Tensor([[0.1, 2.0], [1.5, 0.2]]), Tensor([1, 0]))
        #expect(loss.item > 0)
    }

    @Test("numel and array export")
    func export() throws {
        let x = Tensor([[1.5, 2], [3, 4]])
        #expect(x.numel() == 4)
        #expect(x.toArray() == [1.5, 2, 3, 4])
        #expect(Tensor([3, 6]).toArray() == [3, 6])
        #expect(try Tensor([3, 6]).toArray(Int.self) == [3, 6])
        #expect(try Tensor([3.0, -6]).toArray(Int.self) == [3, -6])
        #expect(throws: EmbeddingKitError.self) { try x.toArray(Int.self) }
        #expect(throws: EmbeddingKitError.self) { try Tensor([Float.nan]).toArray(Int.self) }
    }

    @Test("argmax over all elements and over a dimension")
    func argmax() throws {
        let x = Tensor([[1.0, 9, 3], [9, 2, 0]])
        #expect(try x.argmax() == 1)                       // the first of equal maxima
        #expect(x.argmax(dim: 1).indices == [1, 0])
        #expect(try Tensor([1, 7, 7, 2]).argmax() == 1)
        #expect(try Tensor([1, .nan, 5]).argmax() == 1)    // NaN is the largest, as in PyTorch
        #expect(try Tensor([-3.0]).argmax() == 0)
        #expect(throws: EmbeddingKitError.self) { try Tensor.zeros([0]).argmax() }
    }

    @Test("== compares shape, dtype and values; NaN equals nothing")
    func equality() {
        #expect(Tensor([1.0, 2]) == Tensor([1.0, 2]))
        #expect(Tensor([1.0, 2]) != Tensor([1.0, 3]))
        #expect(Tensor([1.0, 2]) != Tensor([[1.0, 2]]))
        #expect(Tensor([1, 2]) != Tensor([1.0, 2]))
        #expect(Tensor([1, 2]) == Tensor(indices: [1, 2]))
        let nan = Tensor([Float.nan])
        #expect(nan != nan)
        #expect(Tensor([-0.0]) == Tensor([0.0]))
        let w = Tensor([1.0, 2])
        w.requiresGrad = true
        #expect(w == Tensor([1.0, 2]))                     // gradients and requiresGrad are not compared
    }
}
