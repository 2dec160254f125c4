#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fortune files of a corpus folder, found by the rules of `FortuneLayout`.
struct CorpusFolder {
    struct Entry {
        /// Path relative to the corpus folder.
        let relativePath: String
        /// Full path.
        let path: String
        let language: String
        let size: Int
    }

    let root: String
    /// Files to read, sorted by relative path (byte order), which fixes the sample order.
    var files: [Entry] = []
    /// Files and folders left out, with the reason, sorted by path.
    var skipped: [SkippedFile] = []

    /// Lists `root` recursively. Throws if it is missing, not a folder or not listable.
    init(root: String) throws(CorpusError) {
        var info = stat()
        guard stat(root, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .folderNotFound(path: root) }
            throw .unreadableFolder(path: root, reason: FortuneFile.systemError())
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .notAFolder(path: root) }
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        try walk(relative: "")
        files.sort { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
        skipped.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private mutating func walk(relative: String) throws(CorpusError) {
        let folder = relative.isEmpty ? root : root + "/" + relative
        for name in try Self.list(folder) {
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw .unreadableFile(path: path, reason: FortuneFile.systemError())
            }
            let type = info.st_mode & S_IFMT
            if type == S_IFLNK { continue }                          // read under the real path
            if name.hasPrefix(".") {
                skipped.append(SkippedFile(path: relativePath + (type == S_IFDIR ? "/" : ""), reason: "hidden"))
                continue
            }
            if type == S_IFDIR {
                if let reason = FortuneLayout.excludedFolders[relativePath] {
                    skipped.append(SkippedFile(path: relativePath + "/", reason: reason))
                } else if relative.isEmpty && FortuneLayout.folderLanguages[name] == nil {
                    let names = try Self.list(path)
                    if names.isEmpty { continue }
                    let onlyLinks = names.allSatisfy { child in
                        var childInfo = stat()
                        return lstat(path + "/" + child, &childInfo) == 0 && childInfo.st_mode & S_IFMT == S_IFLNK
                    }
                    skipped.append(SkippedFile(
                        path: relativePath + "/",
                        reason: onlyLinks ? "only symbolic links (their targets are read under their own paths)"
                                          : "no language is known for folder '\(name)'"))
                } else {
                    try walk(relative: relativePath)
                }
                continue
            }
            guard type == S_IFREG else {
                skipped.append(SkippedFile(path: relativePath, reason: "not a regular file"))
                continue
            }
            if name.hasSuffix(".dat") || name.hasSuffix(".u8") { continue }   // strfile index / marker
            if let reason = FortuneLayout.excludedFiles[relativePath] {
                skipped.append(SkippedFile(path: relativePath, reason: reason))
                continue
            }
            guard let language = FortuneLayout.language(forRelativePath: relativePath) else { continue }
            files.append(Entry(relativePath: relativePath, path: path, language: language, size: Int(info.st_size)))
        }
    }

    /// The names in a folder, `.` and `..` excluded.
    static func list(_ folder: String) throws(CorpusError) -> [String] {
        guard let dir = opendir(folder) else {
            throw .unreadableFolder(path: folder, reason: FortuneFile.systemError())
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
