import Foundation
import Glibc
import Testing
@testable import EmbeddingKit

/// Issue 14, items 11 and 12: where a save writes (file mode, long names, devices, symbolic links,
/// stale temporary files, the header limit) and how a load reads (the header first, never the whole
/// file; regular files only; sizes checked before anything is allocated; bounded counts and memory).
/// Sparse files stand in for huge ones: no test allocates more than a few hundred MB.

// MARK: - Helpers

/// The permission bits of `path` (symbolic links followed).
func fileMode(_ path: String) -> mode_t {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
}

/// The `S_IFMT` type of `path` itself (not followed).
func fileType(_ path: String) -> mode_t {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
}

/// A safetensors file of `header` (padded to 8 bytes) whose data is `dataBytes` zero bytes, made
/// sparse with ftruncate: a file of any size that costs no disk and no memory.
func writeSparseSafeTensors(_ path: String, header: String, dataBytes: Int) {
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(32) }
    var bytes = [UInt8]()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { bytes += $0 }
    writeFileBytes(bytes + h, path)
    let fd = open(path, O_WRONLY)
    precondition(fd >= 0 && ftruncate(fd, off_t(8 + h.count + dataBytes)) == 0, "ftruncate \(path)")
    close(fd)
}

/// A header listing `count` empty F32 tensors x0, x1, ... (or `count` metadata entries).
func manyEntriesHeader(_ count: Int, metadata: Bool) -> String {
    if metadata { return "{\"__metadata__\":{" + (0..<count).map { "\"x\($0)\":\"\"" }.joined(separator: ",") + "}}" }
    return "{" + (0..<count).map { "\"x\($0)\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}" }.joined(separator: ",") + "}"
}

/// `body` must throw an `EmbeddingKitError` of `kind` whose message contains every one of `parts`.
func expectError(_ kind: EmbeddingKitError.Kind, _ parts: [String], _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(EmbeddingKitError) -> Void) {
    do {
        try body()
        Issue.record("\(what): no error", sourceLocation: sourceLocation)
    } catch {
        #expect(error.kind == kind, "\(what): \(error.message)", sourceLocation: sourceLocation)
        for part in parts { #expect(error.message.contains(part), "\(what): got \(error.message)", sourceLocation: sourceLocation) }
    }
}

/// The child-process halves of the tests below (run by `checkpointWriterChild` with EK_CKPT_CHILD set).
enum CheckpointFileChild {
    static let modes: [String: @Sendable ([String: String]) throws -> Void] = [
        // umask 002, then a save of a new file at EK_CKPT_PATH; its mode (octal) to EK_CKPT_RESULT
        "umask": { env in
            umask(0o002)
            try CheckpointModel().save(to: env["EK_CKPT_PATH"]!)
            try String(fileMode(env["EK_CKPT_PATH"]!), radix: 8).write(toFile: env["EK_CKPT_RESULT"]!, atomically: false, encoding: .utf8)
        },
        // creates EK_CKPT_READY, then loads EK_CKPT_PATH; the error (or "loaded") to EK_CKPT_RESULT
        "load": { env in
            writeFileBytes([], env["EK_CKPT_READY"]!)
            var message = "loaded"
            do { _ = try SafeTensors(contentsOf: env["EK_CKPT_PATH"]!) } catch let error as EmbeddingKitError {
                message = "\(error.kind): \(error.message)"
            }
            try message.write(toFile: env["EK_CKPT_RESULT"]!, atomically: false, encoding: .utf8)
        },
        // the peak resident memory (VmHWM, reset first) that loading EK_CKPT_PATH adds, in bytes
        "peak": { env in
            func status(_ field: String) -> Int? {
                let text = FileIO.readSmallFile("/proc/self/status") ?? ""
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
                return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
            }
            var result = "unavailable: /proc/self/clear_refs"
            let fd = open("/proc/self/clear_refs", O_WRONLY)
            if fd >= 0 && write(fd, "5", 1) == 1, let before = status("VmRSS") {
                let file = try SafeTensors(contentsOf: env["EK_CKPT_PATH"]!)
                let peak = status("VmHWM") ?? 0
                result = "\(peak - before) \(file.tensors.count)"
            }
            if fd >= 0 { close(fd) }
            try result.write(toFile: env["EK_CKPT_RESULT"]!, atomically: false, encoding: .utf8)
        },
    ]
}

extension TestChild {
    /// Waits until the child ends or `seconds` pass; then kills it. nil if it had to be killed.
    func wait(seconds: Double) -> End? {
        let start = Date()
        var status: Int32 = 0
        while Date().timeIntervalSince(start) < seconds {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f) }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        _ = wait()
        return nil
    }
}

// MARK: - Saving (item 11)

@Suite("Checkpoints: where a save writes")
struct CheckpointSaveTargetTests {
    /// PyTorch's save_file writes through open(path, "wb"): the file keeps its mode and owner.
    @Test("a save keeps the replaced file's mode (and owner); a new file gets the umask's default")
    func keepsModeAndOwner() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/model.safetensors", model = try CheckpointModel()
        try model.save(to: path)
        for mode: mode_t in [0o600, 0o640, 0o444, 0o755] {
            #expect(chmod(path, mode) == 0)
            try model.save(to: path)
            #expect(fileMode(path) == mode, "saved over a file of mode \(String(mode, radix: 8)): now \(String(fileMode(path), radix: 8))")
        }
        if geteuid() == 0 {   // only root may give a file away
            #expect(chown(path, 65534, 65534) == 0)
            try model.save(to: path)
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_uid == 65534 && info.st_gid == 65534, "owner \(info.st_uid):\(info.st_gid)")
        }
        #expect(folderListing(folder) == ["model.safetensors"])
        // a new file, in a child with umask 002: 0666 & ~002
        let result = folder + "/result.txt"
        let child = try spawnTestChild(["EK_CKPT_CHILD": "umask", "EK_CKPT_PATH": folder + "/new.safetensors", "EK_CKPT_RESULT": result])
        #expect(child.wait() == .exited(0))
        #expect((try? String(contentsOfFile: result, encoding: .utf8)) == "664")
    }

    @Test("file names of 252 and 255 bytes (the longest legal) can be saved")
    func longFileNames() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let model = try CheckpointModel(seed: 3)
        for length in [252, 255] {
            let path = folder + "/" + String(repeating: "m", count: length)
            try model.save(to: path)
            let loaded = try CheckpointModel(seed: 4)
            try loaded.load(from: path)
            #expect(parameterBits(loaded) == parameterBits(model))
        }
        #expect(folderListing(folder).map(\.utf8.count) == [252, 255])
        // 256 bytes is not a legal name: the system's reason
        expectError(.io, ["File name too long"], "a 256-byte name") { () throws(EmbeddingKitError) in
            try model.save(to: folder + "/" + String(repeating: "m", count: 256))
        }
    }

    /// As root, `--output /dev/null` would have replaced /dev/null: the device nodes here are made in a
    /// temporary folder (mknod, root only) or reached through a link, never /dev/null itself.
    @Test("a target that is not a regular file is refused and left as it was: FIFO, device, folder, a link to /dev/null")
    func refusesNonRegularTargets() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let model = try CheckpointModel()
        var cases: [(path: String, type: mode_t, says: String)] = []
        #expect(mkfifo(folder + "/fifo", 0o644) == 0)
        cases.append((folder + "/fifo", S_IFIFO, "it is a FIFO (named pipe), not a regular file"))
        #expect(symlink("/dev/null", folder + "/null-link") == 0)
        cases.append((folder + "/null-link", S_IFLNK, "'/dev/null', where the link leads, is a character device, not a regular file"))
        #expect(mkdir(folder + "/empty-folder", 0o755) == 0)
        cases.append((folder + "/empty-folder", S_IFDIR, "it is a directory, not a regular file"))
        if mknod(folder + "/null-device", S_IFCHR | 0o666, dev_t(0x103)) == 0 {   // (1, 3): /dev/null's numbers
            cases.append((folder + "/null-device", S_IFCHR, "it is a character device, not a regular file"))
        } else {
            print("refusesNonRegularTargets: mknod not permitted here (\(String(cString: strerror(errno)))); the link to /dev/null stands in")
        }
        let listing = folderListing(folder)
        for (path, type, says) in cases {
            expectError(.io, ["cannot save '\(path)': " + says + "; nothing was written"], path) { () throws(EmbeddingKitError) in
                try model.save(to: path)
            }
            #expect(fileType(path) == type, "\(path) changed type")
        }
        #expect(folderListing(folder) == listing)   // no temporary file left
        #expect(fileType("/dev/null") == S_IFCHR)
    }

    @Test("saving through a symbolic link replaces the file it leads to, atomically, and keeps the link")
    func writesThroughSymbolicLinks() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        #expect(mkdir(folder + "/real", 0o755) == 0)
        let real = folder + "/real/model.safetensors"
        let a = try CheckpointModel(seed: 1), b = try CheckpointModel(seed: 2), c = try CheckpointModel(seed: 3)
        try a.save(to: real)
        #expect(chmod(real, 0o600) == 0)
        #expect(symlink("real/model.safetensors", folder + "/link") == 0)    // relative
        #expect(symlink(folder + "/link", folder + "/link2") == 0)           // absolute, to a link
        try b.save(to: folder + "/link2")
        let loaded = try CheckpointModel(seed: 9)
        try loaded.load(from: real)
        #expect(parameterBits(loaded) == parameterBits(b), "the link's target still holds the old weights")
        #expect(fileType(folder + "/link") == S_IFLNK && fileType(folder + "/link2") == S_IFLNK)
        #expect(fileMode(real) == 0o600)
        #expect(folderListing(folder) == ["link", "link2", "real"] && folderListing(folder + "/real") == ["model.safetensors"])
        // a link whose target does not exist yet: the target is created, the link stays
        #expect(symlink("real/new.safetensors", folder + "/dangling") == 0)
        try c.save(to: folder + "/dangling")
        #expect(fileType(folder + "/dangling") == S_IFLNK && fileType(folder + "/real/new.safetensors") == S_IFREG)
        try loaded.load(from: folder + "/real/new.safetensors")
        #expect(parameterBits(loaded) == parameterBits(c))
        // a loop of links
        #expect(symlink("loop", folder + "/loop") == 0)
        expectError(.io, ["cannot save '\(folder)/loop'", "Too many levels of symbolic links"], "a link loop") { () throws(EmbeddingKitError) in
            try a.save(to: folder + "/loop")
        }
        #expect(folderListing(folder) == ["dangling", "link", "link2", "loop", "real"])
    }

    /// A killed save leaves a model-sized `.ek-save-<pid>-<host>-<random>` file; the next save into
    /// the folder removes those whose writer is gone, and nothing else.
    @Test("a save removes stale temporary files of dead writers, and never a live save's or another's file")
    func removesStaleTemporaries() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let tag = try #require(SaveTemporaries.hostTag, "no /proc here: only foreign-tag files could be judged")
        let pidMax = Int(FileIO.readSmallFile("/proc/sys/kernel/pid_max")?.split(separator: "\n").first ?? "") ?? 4_194_304
        let other = "0123456789abcdef" == tag ? "fedcba9876543210" : "0123456789abcdef"
        func name(_ pid: Int, _ tag: String) -> String { ".ek-save-\(pid)-\(tag)-\(String(UInt64.random(in: 1 << 60...UInt64.max), radix: 16))" }
        let dead = name(pidMax, tag)                  // PIDs are below pid_max: no such process
        let deadOld = name(pidMax, other)             // another host's, untouched for two days
        let kept = [
            name(1, tag),                             // a live process (init)
            name(Int(getpid()), tag),                 // a save in progress in this process
            name(pidMax, other),                      // another host's, fresh: its writer may be alive
            ".ek-save-\(pidMax)-\(tag)",              // not the pattern
            ".ek-save-\(pidMax)-\(tag)-0123456789abcdef-x",
            ".ek-save-x\(pidMax)-\(tag)-0123456789abcdef",
            "model.safetensors.tmp-\(pidMax)",
        ]
        for file in [dead, deadOld] + kept { writeFileBytes([1, 2, 3], folder + "/" + file) }
        var old = [timespec(tv_sec: time(nil) - 2 * 86_400, tv_nsec: 0), timespec(tv_sec: time(nil) - 2 * 86_400, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, folder + "/" + deadOld, &old, 0) == 0)
        var keptAlso: [String] = []
        let deadFolder = name(pidMax, tag)            // a folder by the pattern: not a temporary file
        #expect(mkdir(folder + "/" + deadFolder, 0o755) == 0)
        keptAlso.append(deadFolder)
        if geteuid() == 0 {                           // another user's: not ours to remove
            let theirs = name(pidMax, tag)
            writeFileBytes([1], folder + "/" + theirs)
            #expect(chown(folder + "/" + theirs, 65534, 65534) == 0)
            keptAlso.append(theirs)
        }
        try CheckpointModel().save(to: folder + "/model.safetensors")
        #expect(folderListing(folder) == (kept + keptAlso + ["model.safetensors"]).sorted())
    }

    /// The late failure path: everything written and flushed, then the rename fails (the target
    /// became a folder meanwhile): the temporary file is removed and the folder is as it was.
    @Test("a rename that fails removes the temporary file and leaves the target as it was")
    func renameFails() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/model.safetensors"
        expectError(.io, ["cannot save '\(path)': rename '\(folder)/.ek-save-", "over '\(path)'", "Is a directory"], "rename") {
            () throws(EmbeddingKitError) in
            try FileIO.writeAtomically([1, 2, 3], to: path, beforeRename: {
                mkdir(path, 0o755)
                writeFileBytes([9], path + "/inside")
            })
        }
        #expect(folderListing(folder) == ["model.safetensors"] && folderListing(path) == ["inside"])
    }

    /// PyTorch's reader refuses a header over 100,000,000 bytes; so does ours, and the writer must
    /// not produce one (it used to stop the process in its self-check). The limit itself is written.
    @Test("metadata that makes the header exceed 100,000,000 bytes is refused, and the old file kept")
    func headerLimit() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/model.safetensors"
        try SafeTensors.save(["w": Tensor([1.0, 2])], to: path)
        let before = fileBytes(path)
        // {"__metadata__":{"k":"<v>"}} is 25 + |v| bytes; one more byte is padded to 100,000,008
        func vs(_ n: Int) -> String { String(decoding: [UInt8](repeating: UInt8(ascii: "v"), count: n), as: UTF8.self) }
        let atLimit = vs(100_000_000 - 25)
        let bytes = try SafeTensors(metadata: ["k": atLimit]).serialized()
        #expect(bytes.count == 8 + 100_000_000)
        for (what, value) in [("one byte over", vs(100_000_000 - 24)), ("100 MB of metadata", vs(100_000_001))] {
            expectError(.invalidArgument, ["safetensors: the header would be", "more than the format's limit of 100000000 bytes; nothing was written"], what) {
                () throws(EmbeddingKitError) in
                try SafeTensors.save(["w": Tensor([1.0, 2])], metadata: ["k": value], to: path)
            }
        }
        #expect(fileBytes(path) == before && folderListing(folder) == ["model.safetensors"])
    }

    @Test("more tensors or metadata entries than the reader takes are refused by the writer")
    func countLimits() throws {
        #expect(SafeTensors.maximumTensorCount == 100_000 && SafeTensors.maximumMetadataCount == 100_000)
        let empty = Tensor(shape: [0], values: [])
        var tensors = [String: Tensor](minimumCapacity: 100_001)
        for i in 0..<100_000 { tensors["x\(i)"] = empty }
        let atLimit = try SafeTensors(tensors: tensors).serialized()
        #expect(try SafeTensors(bytes: atLimit).tensors.count == 100_000)
        tensors["one more"] = empty
        expectError(.invalidArgument, ["safetensors: 100001 tensors, more than the limit of 100000 in a file"], "tensors") {
            () throws(EmbeddingKitError) in _ = try SafeTensors(tensors: tensors).serialized()
        }
        var metadata = [String: String](minimumCapacity: 100_001)
        for i in 0...100_000 { metadata["k\(i)"] = "" }
        expectError(.invalidArgument, ["safetensors: 100001 __metadata__ entries, more than the limit of 100000 in a file"], "metadata") {
            () throws(EmbeddingKitError) in _ = try SafeTensors(metadata: metadata).serialized()
        }
    }
}

// MARK: - Loading (item 12)

@Suite("Checkpoints: reading files of any size")
struct CheckpointReadTests {
    /// Each used to be read whole first: the 64 GiB file stopped the process ("failed to allocate
    /// 68719476768 bytes"). Now the header is read first and the sizes it claims are checked before
    /// anything is allocated.
    @Test("a 64 GiB sparse file is judged by its header: zeros, or tensors larger than memory, fail fast")
    func hugeSparseFiles() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/huge.safetensors"
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0 && ftruncate(fd, 1 << 36) == 0)
        close(fd)
        let start = Date()
        expectError(.invalidArgument, [path + ": safetensors: malformed header JSON: the header must be a JSON object: expected '{', found the end of the header (0 bytes)"],
                    "64 GiB of zeros") { () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path) }
        // a valid file whose U8 tensor fills 64 GiB: 512 GiB as int64
        writeSparseSafeTensors(path, header: "{\"w\":{\"dtype\":\"U8\",\"shape\":[68719476736],\"data_offsets\":[0,68719476736]}}",
                               dataBytes: 1 << 36)
        expectError(.allocation, [path + ": safetensors: the tensors need 549755813888 bytes of memory",
                                  "\"w\": U8, 68719476736 elements at 8 bytes each", "nothing was allocated"],
                    "a 64 GiB U8 tensor") { () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path) }
        // two F32 tensors that each fit in memory, but not together (sized from this machine's budget)
        let budget = MemoryBudget.bytes()
        if budget < 1 << 42 {
            let n = budget / 8 + 1, bytes = 4 * n
            writeSparseSafeTensors(path, header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[\(n)],\"data_offsets\":[0,\(bytes)]},"
                                   + "\"b\":{\"dtype\":\"F32\",\"shape\":[\(n)],\"data_offsets\":[\(bytes),\(2 * bytes)]}}", dataBytes: 2 * bytes)
            expectError(.allocation, ["the tensors need \(2 * bytes) bytes of memory", "more than the \(budget) bytes this process can have"],
                        "two F32 tensors") { () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path) }
        }
        #expect(Date().timeIntervalSince(start) < 10)
        // sizes in the header that do not fit the file, or 64 bits
        writeSparseSafeTensors(path, header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", dataBytes: 16)
        expectError(.overflow, ["shape [4611686018427387904, 4] has more elements than fit in 64 bits"], "overflow") {
            () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path)
        }
        writeSparseSafeTensors(path, header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[1073741824],\"data_offsets\":[0,4294967296]}}", dataBytes: 16)
        expectError(.shape, ["data_offsets [0, 4294967296] run past the end of the data (16 bytes after the header)"], "past the end") {
            () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path)
        }
    }

    /// `--model /dev/zero` read until memory ran out; a FIFO without a writer would block forever.
    /// Each is loaded in a child process that is killed after 5 s, so that the test ends either way.
    @Test("a device, a FIFO or a folder is refused by name, before it is read")
    func refusesNonRegularFiles() throws {
        let folder = makeTemporaryFolder(), readyFolder = makeTemporaryFolder()
        defer { removeFolder(folder); removeFolder(readyFolder) }
        #expect(mkfifo(folder + "/fifo", 0o644) == 0)
        #expect(symlink("/dev/zero", folder + "/zero-link") == 0)
        let cases = [("/dev/zero", "a character device"), (folder + "/fifo", "a FIFO (named pipe)"),
                     (folder + "/zero-link", "a character device"), (folder, "a directory")]
        for (path, kind) in cases {
            let result = readyFolder + "/result.txt", ready = readyFolder + "/ready"
            unlink(ready)
            let child = try spawnTestChild(["EK_CKPT_CHILD": "load", "EK_CKPT_PATH": path, "EK_CKPT_RESULT": result, "EK_CKPT_READY": ready])
            let spawned = Date()
            while access(ready, F_OK) != 0 && Date().timeIntervalSince(spawned) < 60 { usleep(2_000) }
            let end = child.wait(seconds: 5)
            #expect(end == .exited(0), "\(path): the load did not end within 5 s (killed) or crashed: \(String(describing: end))")
            let message = (try? String(contentsOfFile: result, encoding: .utf8)) ?? "(no result)"
            #expect(message == "io: cannot read '\(path)': it is \(kind), not a regular file", "\(path): \(message)")
            unlink(result)
        }
    }

    @Test("more tensors or metadata entries than the limit are refused; the limit itself loads")
    func countLimits() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/many.safetensors"
        for metadata in [false, true] {
            writeSparseSafeTensors(path, header: manyEntriesHeader(100_000, metadata: metadata), dataBytes: 0)
            let file = try SafeTensors(contentsOf: path)
            #expect((metadata ? file.metadata.count : file.tensors.count) == 100_000)
            writeSparseSafeTensors(path, header: manyEntriesHeader(100_001, metadata: metadata), dataBytes: 0)
            let says = metadata ? "__metadata__ has more than 100000 entries (the limit; entry 100001 is \"x100000\")"
                                : "the header lists more than 100000 tensors (the limit; tensor 100001 is \"x100000\")"
            expectError(.shape, [path + ": safetensors: " + says], says) { () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path) }
        }
    }

    /// Tensors larger than the 1 MiB read chunk: values cross chunk boundaries exactly, and a U64
    /// value that does not fit is named by its position in the tensor. Expected values follow from
    /// the bytes written (Swift's own Float16 for the F16 widening).
    @Test("tensors read in chunks: F16, I32 and U64 values across chunk boundaries")
    func chunkedReading() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/big.safetensors"
        let nHalf = 1_500_000, nInt = 300_000
        let halves = (0..<nHalf).map { UInt16($0 % 0x7C00) }          // every finite positive F16
        let ints = (0..<nInt).map { Int32(truncatingIfNeeded: $0 &* 2_654_435_761) }
        var u64 = (0..<nInt).map { UInt64($0) * 3 }
        var header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[\(nHalf)],\"data_offsets\":[0,\(2 * nHalf)]},"
        header += "\"i\":{\"dtype\":\"I32\",\"shape\":[\(nInt)],\"data_offsets\":[\(2 * nHalf),\(2 * nHalf + 4 * nInt)]},"
        header += "\"u\":{\"dtype\":\"U64\",\"shape\":[\(nInt)],\"data_offsets\":[\(2 * nHalf + 4 * nInt),\(2 * nHalf + 12 * nInt)]}}"
        func write() {
            var h = Array(header.utf8)
            while h.count % 8 != 0 { h.append(32) }
            var bytes = [UInt8]()
            withUnsafeBytes(of: UInt64(h.count).littleEndian) { bytes += $0 }
            bytes += h
            halves.withUnsafeBytes { bytes += $0 }
            ints.withUnsafeBytes { bytes += $0 }
            u64.withUnsafeBytes { bytes += $0 }
            writeFileBytes(bytes, path)
        }
        write()
        let file = try SafeTensors(contentsOf: path)
        let h = try #require(file.tensors["h"]), i = try #require(file.tensors["i"]), u = try #require(file.tensors["u"])
        let wantHalves = halves.map { Float(Float16(bitPattern: $0)).bitPattern }
        let sameHalves = h.floats.map(\.bitPattern) == wantHalves, sameInts = i.ints == ints.map(Int64.init)
        let sameU64 = u.ints == u64.map { Int64($0) }
        #expect(sameHalves && sameInts && sameU64)
        u64[200_000] = UInt64(Int64.max) + 1
        write()
        expectError(.overflow, [path + ": safetensors_convert_i64: tensor \"u\": U64 value 9223372036854775808 at position 200000 does not fit in int64"],
                    "U64 overflow") { () throws(EmbeddingKitError) in _ = try SafeTensors(contentsOf: path) }
    }

    /// A U8 tensor is held as int64: 8 bytes per byte of the file. Reading used to hold the whole
    /// file as well (9x); now a tensor's bytes go through a 1 MiB buffer. Measured in a child process
    /// (VmHWM, reset before the load) so that no other test's memory counts.
    @Test("loading a 16 MiB U8 tensor costs its 128 MiB as int64 and not the file's bytes too")
    func u8PeakMemory() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/u8.safetensors", result = folder + "/result.txt"
        let n = 16 << 20
        var header = Array("{\"w\":{\"dtype\":\"U8\",\"shape\":[\(n)],\"data_offsets\":[0,\(n)]}}".utf8)
        while header.count % 8 != 0 { header.append(32) }
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        writeFileBytes(bytes + header + [UInt8](repeating: 1, count: n), path)
        let child = try spawnTestChild(["EK_CKPT_CHILD": "peak", "EK_CKPT_PATH": path, "EK_CKPT_RESULT": result])
        #expect(child.wait() == .exited(0))
        let text = (try? String(contentsOfFile: result, encoding: .utf8)) ?? "(no result)"
        if text.hasPrefix("unavailable") {
            print("u8PeakMemory: not measured here (\(text))")
            return
        }
        let fields = text.split(separator: " ").compactMap { Int($0) }
        let added = fields.first ?? -1
        print("u8PeakMemory: the load added \(added >> 20) MiB at its peak")
        #expect(fields.count == 2 && fields[1] == 1, "\(text)")
        #expect(added >= 127 << 20 && added <= 136 << 20, "peak \(added) bytes for a 16 MiB U8 file (int64: 128 MiB)")
    }
}
