import CKernels

/// The version of the EmbeddingKit kernel library that this program is linked against.
///
/// EmbeddingKit's C kernels (the `CKernels` target, also shipped to C programs as `libembeddingkit`)
/// report their version at run time; it matches the `EK_VERSION_*` macros of `embeddingkit.h`.
///
/// ```swift
/// print("EmbeddingKit \(EmbeddingKitVersion.string)")  // "EmbeddingKit 0.1.0"
/// ```
public enum EmbeddingKitVersion {
    /// The version as `"MAJOR.MINOR.PATCH"`, for example `"0.1.0"`.
    public static var string: String {
        String(cString: ek_version_string())
    }
}
