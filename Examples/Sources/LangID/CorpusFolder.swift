#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fortune files of a corpus folder, found by the rules of `FortuneLayout`.
///
/// File names are byte strings that need not be UTF-8 (a Latin-1 `café` is `caf\xE9`): every
/// file is listed, checked and opened by its raw bytes (`Entry.pathBytes`); the `String` paths are
/// for labels and messages only, with each byte that is not UTF-8 written `\xHH`.
struct CorpusFolder {
    struct Entry {
        /// Path relative to the corpus folder (for display and labelling).
        let relativePath: String
        /// Full path (for display).
        let path: String
        /// Full path as the file system knows it, NUL-terminated: what `open` gets.
        let pathBytes: [UInt8]
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
        files.sort { $0.pathBytes.lexicographicallyPrecedes($1.pathBytes) }
        skipped.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private mutating func walk(relative: String, relativeBytes: [UInt8] = []) throws(CorpusError) {
        let folder = relative.isEmpty ? root : root + "/" + relative
        let folderBytes = Array(root.utf8) + (relativeBytes.isEmpty ? [] : [UInt8(ascii: "/")] + relativeBytes)
        for nameBytes in try Self.list(folderBytes, display: folder) {
            let name = Self.display(nameBytes)
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            let childRelativeBytes = relativeBytes.isEmpty ? nameBytes : relativeBytes + [UInt8(ascii: "/")] + nameBytes
            let path = folder + "/" + name
            let pathBytes = folderBytes + [UInt8(ascii: "/")] + nameBytes + [0]
            var info = stat()
            guard lstat(pathBytes, &info) == 0 else {
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
                    let names = try Self.list(Array(pathBytes.dropLast()), display: path)
                    if names.isEmpty { continue }
                    let onlyLinks = names.allSatisfy { child in
                        var childInfo = stat()
                        let childPath = pathBytes.dropLast() + [UInt8(ascii: "/")] + child + [0]
                        return lstat(Array(childPath), &childInfo) == 0 && childInfo.st_mode & S_IFMT == S_IFLNK
                    }
                    skipped.append(SkippedFile(
                        path: relativePath + "/",
                        reason: onlyLinks ? "only symbolic links (their targets are read under their own paths)"
                                          : "no language is known for folder '\(name)'"))
                } else {
                    try walk(relative: relativePath, relativeBytes: childRelativeBytes)
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
            files.append(Entry(relativePath: relativePath, path: path, pathBytes: pathBytes, language: language,
                               size: Int(info.st_size)))
        }
    }

    /// The names in the folder whose path is `folder` (bytes, no NUL), `.` and `..` excluded, as
    /// the file system stores them. `display` names the folder in errors.
    static func list(_ folder: [UInt8], display: String) throws(CorpusError) -> [[UInt8]] {
        guard let dir = opendir(folder + [0]) else {
            throw .unreadableFolder(path: display, reason: FortuneFile.systemError())
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }

    /// A file name for messages and labels: the name itself when it is UTF-8, otherwise each byte
    /// that is not part of a valid UTF-8 sequence written `\xHH`.
    static func display(_ name: [UInt8]) -> String {
        if let text = String(validating: name, as: UTF8.self) { return text }
        var result = "", parser = Unicode.UTF8.ForwardParser(), iterator = name.makeIterator()
        var position = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                result.unicodeScalars.append(Unicode.UTF8.decode(encoded))
                position += encoded.count
            case .error(let length):
                for byte in name[position..<(position + length)] { result += "\\x" + hex(byte) }
                position += length
            case .emptyInput:
                return result
            }
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
