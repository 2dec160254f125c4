import CKernels

/// An error raised by data a program passed in: an index out of range, bad offsets, a bad file.
///
/// The message is the kernel's own, naming the argument, the position and the value, for example
/// `embedding: index 10 at position 0 is out of range for 10 embeddings`. A call that throws has
/// changed nothing: every tensor and table is as it was.
public struct EmbeddingKitError: Error, CustomStringConvertible, Equatable {
    /// What kind of problem it is.
    public enum Kind: Equatable, Sendable {
        case invalidArgument, indexOutOfRange, shape, nullPointer, overflow, allocation, io
    }

    /// What kind of problem it is.
    public let kind: Kind
    /// The message naming the argument, position and value.
    public let message: String

    /// Creates an error of a kind with a message.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message alone (the kind is not printed).
    public var description: String { message }
}

/// Turns a kernel's status into a thrown error carrying `ek_last_error()`.
@inline(__always)
func checkKernel(_ status: ek_status) throws(EmbeddingKitError) {
    guard status != EK_OK else { return }
    let kind: EmbeddingKitError.Kind
    switch status {
    case EK_ERR_INDEX_OUT_OF_RANGE: kind = .indexOutOfRange
    case EK_ERR_SHAPE: kind = .shape
    case EK_ERR_NULL_POINTER: kind = .nullPointer
    case EK_ERR_OVERFLOW: kind = .overflow
    case EK_ERR_ALLOC: kind = .allocation
    default: kind = .invalidArgument
    }
    throw EmbeddingKitError(kind, String(cString: ek_last_error()))
}

/// For kernels whose inputs the caller has already validated: a failure is a bug in EmbeddingKit.
@inline(__always)
func mustSucceed(_ status: ek_status, _ op: StaticString = #function) {
    precondition(status == EK_OK, "\(op): \(String(cString: ek_last_error()))")
}
