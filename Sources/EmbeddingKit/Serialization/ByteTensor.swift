/// Raw bytes with a shape: a safetensors `U8` tensor, kept byte for byte. Packed quantized rows
/// (`QuantizedEmbeddingBag.packedBytes`, PyTorch's prepacked tables) travel this way, as PyTorch's
/// `torch.uint8` tensors do.
///
/// ```swift
/// let packed = try ByteTensor(shape: [rows, rowBytes], bytes: q.packedBytes)
/// try SafeTensors(byteTensors: ["weight": packed], metadata: ["format": "rowwise_q8"]).write(to: "t.safetensors")
/// let back = try SafeTensors(contentsOf: "t.safetensors", keepingBytes: true).byteTensors["weight"]!
/// ```
public struct ByteTensor: Sendable, Hashable {
    /// The sizes of the dimensions (`[]`: a scalar, one byte).
    public let shape: [Int]
    /// The elements, row-major: as many as the product of `shape`.
    public let bytes: [UInt8]

    /// `bytes` viewed as `shape`. Throws `EmbeddingKitError`, making nothing, for a negative
    /// dimension (`invalidArgument`: `ByteTensor: shape[1]=-2 is negative`), a shape whose product
    /// overflows (`overflow`), or a byte count other than the product (`shape`).
    public init(shape: [Int], bytes: [UInt8]) throws(EmbeddingKitError) {
        var count = 1
        for (i, d) in shape.enumerated() {
            guard d >= 0 else { throw EmbeddingKitError(.invalidArgument, "ByteTensor: shape[\(i)]=\(d) is negative (shape \(shape))") }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw EmbeddingKitError(.overflow, "ByteTensor: shape \(shape) has more elements than Int can count") }
            count = product
        }
        guard bytes.count == count else {
            throw EmbeddingKitError(.shape, "ByteTensor: shape \(shape) holds \(count) bytes, but bytes has \(bytes.count)")
        }
        self.shape = shape
        self.bytes = bytes
    }

    /// A 1-D tensor of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.shape = [bytes.count]
        self.bytes = bytes
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }
}
