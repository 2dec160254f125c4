/// Whether operations are recorded for autograd in the current task (PyTorch's grad mode).
enum GradMode {
    @TaskLocal static var isEnabled = true
}

/// Runs `body` without recording operations for autograd, like PyTorch's `torch.no_grad()`:
/// results have no gradient history, which is what evaluation and weight surgery want.
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// Whether operations are being recorded for autograd here.
public var isGradientRecordingEnabled: Bool { GradMode.isEnabled }
