import Foundation
import Glibc
import Testing
@testable import EmbeddingKit

/// Checkpoints: files PyTorch wrote (Tests/Fixtures/safetensors, from generate_safetensors.py) load
/// into the matching modules with PyTorch's values; our writer reproduces PyTorch's bytes; every
/// corrupt file is rejected with a clear error and no weight changed; and saving survives failed
/// writes and a writer process killed at random points.

// MARK: - Helpers

/// The test model with children, as the fixture script's `Model`: `embed.weight`, `head.weight`, `head.bias`.
final class CheckpointModel: Module {
    let embed: Embedding
    let head: Linear
    var isTraining = true
    init(count: Int = 6, dimension: Int = 4, classes: Int = 3, seed: UInt64 = 1) throws {
        let g = Generator(seed: seed)
        embed = try Embedding(count: count, dimension: dimension, generator: g)
        head = try Linear(dimension, classes, generator: g)
    }
    var directParameters: [(name: String, tensor: Tensor)] { [] }
    var children: [(name: String, module: any Module)] { [("embed", embed), ("head", head)] }
}

/// Every parameter's bit pattern, by name: "bit-identical" means these are equal.
func parameterBits(_ module: any Module) -> [String: [UInt32]] {
    Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.tensor.floats.map(\.bitPattern)) })
}

let safetensorsFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../Fixtures/safetensors").standardized.path

/// A fresh folder under the system's temporary folder.
func makeTemporaryFolder() -> String {
    var folder = NSTemporaryDirectory()
    while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
    var template = Array((folder + "/ek-ckpt-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(cString: made!)
}

func removeFolder(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

func folderListing(_ folder: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() }

func fileBytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

func writeFileBytes(_ bytes: [UInt8], _ path: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }

/// The fixture script's expected.txt: file -> tensor -> (dtype, shape, float values or int values).
struct FixtureTensor { var dtype = "", shape = [Int](), floats = [Float](), ints = [Int64]() }

func safetensorsFixtures() throws -> [String: [String: FixtureTensor]] {
    let text = try String(contentsOfFile: safetensorsFixtureDir + "/expected.txt", encoding: .utf8)
    var result = [String: [String: FixtureTensor]](), file = ""
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let f = line.split(separator: " ").map(String.init)
        if f[0] == "case" { file = f[1]; result[file] = [:]; continue }
        if f[0] == "end" { continue }
        var t = result[file]![f[0]] ?? FixtureTensor()
        switch f[1] {
        case "dtype": t.dtype = f[2]
        case "shape": t.shape = f[4...].map { Int($0)! }
        case "f": t.floats = f[3...].map { Float(Double($0)!) }
        case "i": t.ints = f[3...].map { Int64($0)! }
        default: Issue.record("expected.txt: bad line \(line)")
        }
        result[file]![f[0]] = t
    }
    return result
}

// MARK: - PyTorch interop and round trips

@Suite("Checkpoints: PyTorch files and round trips")
struct SafeTensorsInteropTests {
    @Test("PyTorch's save_file output loads into Embedding, EmbeddingBag, Linear and a two-child model")
    func loadsPyTorchFiles() throws {
        let expected = try safetensorsFixtures()
        let cases: [(String, any Module)] = [
            ("embedding.safetensors", try Embedding(count: 10, dimension: 4, paddingIndex: 0)),
            ("embedding_bag.safetensors", try EmbeddingBag(count: 8, dimension: 3, mode: .sum)),
            ("linear.safetensors", try Linear(5, 3)),
            ("linear_f16.safetensors", try Linear(5, 3)),
            ("linear_bf16.safetensors", try Linear(5, 3)),
            ("model.safetensors", try CheckpointModel()),
        ]
        for (file, module) in cases {
            let keys = try module.load(from: safetensorsFixtureDir + "/" + file)
            #expect(keys == StateDictKeys(missing: [], unexpected: []))
            let want = try #require(expected[file])
            #expect(Set(want.keys) == Set(module.namedParameters().map(\.name)), "\(file)")
            for (name, tensor) in module.namedParameters() {
                let w = try #require(want[name])
                #expect(tensor.shape == w.shape, "\(file) \(name)")
                #expect(tensor.floats.map(\.bitPattern) == w.floats.map(\.bitPattern), "\(file) \(name): values differ from PyTorch's")
            }
        }
        // F16 / BF16 were widened exactly: the F16 weights differ from the F32 ones by at most half an F16 ulp
        let f32 = try Linear(5, 3), f16 = try Linear(5, 3)
        try f32.load(from: safetensorsFixtureDir + "/linear.safetensors")
        try f16.load(from: safetensorsFixtureDir + "/linear_f16.safetensors")
        for (a, b) in zip(f32.weight.scalars, f16.weight.scalars) { #expect(abs(a - b) <= abs(a) * 0x1p-11) }
        let file = try SafeTensors(contentsOf: safetensorsFixtureDir + "/linear_bf16.safetensors")
        #expect(file.storedDTypes == ["weight": .bfloat16, "bias": .bfloat16])
    }

    @Test("A loaded PyTorch Embedding looks up PyTorch's rows; the model file's metadata is read")
    func loadedModuleComputes() throws {
        let embed = try Embedding(count: 10, dimension: 4, paddingIndex: 0)
        try embed.load(from: safetensorsFixtureDir + "/embedding.safetensors")
        let want = try #require(try safetensorsFixtures()["embedding.safetensors"]?["weight"])
        let out = try embed(Tensor(indices: [3, 0, 9]))
        #expect(out.scalars == Array(want.floats[12..<16] + want.floats[0..<4] + want.floats[36..<40]))
        #expect(want.floats[0..<4].allSatisfy { $0 == 0 })   // PyTorch zeroed the padding row
        let model = try SafeTensors(contentsOf: safetensorsFixtureDir + "/model.safetensors")
        #expect(model.metadata == ["format": "pt"])
    }

    @Test("I64 tensors, a scalar and metadata from PyTorch read as int64 tensors")
    func readsIntegerTensors() throws {
        let file = try SafeTensors(contentsOf: safetensorsFixtureDir + "/mixed_i64.safetensors")
        let expected = try #require(try safetensorsFixtures()["mixed_i64.safetensors"])
        #expect(file.metadata == ["note": "I64 tensors and a scalar"])
        let indices = try #require(file.tensors["indices"]), step = try #require(file.tensors["step"])
        #expect(indices.dtype == .int64 && indices.shape == [2, 3] && indices.indices == expected["indices"]!.ints)
        #expect(step.shape == [] && step.indices == [123_456_789_012])
        #expect(file.tensors["scale"]!.scalars == expected["scale"]!.floats)
        #expect(file.storedDTypes["step"] == .int64)
    }

    /// The writer's bytes equal those `safetensors.torch.save_file` wrote for the same tensors and
    /// metadata (tensor order, JSON, padding, data): so PyTorch reads what we write.
    @Test("Our writer reproduces PyTorch's files byte for byte")
    func writerMatchesPyTorchBytes() throws {
        for file in ["embedding", "embedding_bag", "linear", "model", "mixed_i64"] {
            let path = safetensorsFixtureDir + "/\(file).safetensors"
            let read = try SafeTensors(contentsOf: path)
            let ours = try SafeTensors(tensors: read.tensors, metadata: read.metadata).serialized()
            #expect(ours == fileBytes(path), "\(file): our bytes differ from PyTorch's")
        }
        // and a module's state dictionary saved under PyTorch's names gives PyTorch's file
        let model = try CheckpointModel()
        try model.load(from: safetensorsFixtureDir + "/model.safetensors")
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        try model.save(to: folder + "/m.safetensors", metadata: ["format": "pt"])
        #expect(fileBytes(folder + "/m.safetensors") == fileBytes(safetensorsFixtureDir + "/model.safetensors"))
    }

    @Test("save then load restores every weight bit for bit; metadata, odd names, empty and scalar tensors survive")
    func roundTrip() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let a = try CheckpointModel(count: 50, dimension: 8, classes: 5, seed: 1), b = try CheckpointModel(count: 50, dimension: 8, classes: 5, seed: 2)
        #expect(parameterBits(a) != parameterBits(b))
        let weightObject = b.embed.weight
        try a.save(to: folder + "/a.safetensors", metadata: ["epoch": "3", "note": "caf\u{e9} \"quoted\"\n"])
        try b.load(from: folder + "/a.safetensors")
        #expect(parameterBits(a) == parameterBits(b))
        #expect(b.embed.weight === weightObject)            // loaded in place: same tensor objects
        #expect(try SafeTensors(contentsOf: folder + "/a.safetensors").metadata == ["epoch": "3", "note": "caf\u{e9} \"quoted\"\n"])
        #expect(folderListing(folder) == ["a.safetensors"])       // no temporary file left behind

        let odd: [String: Tensor] = [
            "": Tensor(shape: [0], values: []),
            "tab\there/\u{1}\u{1F600}": Tensor(shape: [2, 0, 3], values: []),
            "scalar": Tensor(shape: [], values: [-0.0]),
            "nan": Tensor(shape: [3], values: [.nan, .infinity, -.leastNonzeroMagnitude]),
            "ids": Tensor(shape: [2], indices: [Int64.min, Int64.max]),
        ]
        try SafeTensors.save(odd, metadata: ["k": "\u{7f}\\"], to: folder + "/odd.safetensors")
        let back = try SafeTensors(contentsOf: folder + "/odd.safetensors")
        #expect(Set(back.tensors.keys) == Set(odd.keys))
        for (name, t) in odd {
            let u = back.tensors[name]!
            #expect(u.shape == t.shape && u.dtype == t.dtype)
            #expect(u.floats.map(\.bitPattern) == t.floats.map(\.bitPattern) && u.ints == t.ints)
        }
        #expect(back.metadata == ["k": "\u{7f}\\"])
        #expect(throws: EmbeddingKitError.self) { try SafeTensors(tensors: ["__metadata__": Tensor([1.0])]).serialized() }
        #expect(throws: EmbeddingKitError.self) { try SafeTensors(tensors: ["a\u{0}b": Tensor([1.0])]).serialized() }
    }

    @Test("stateDict is a snapshot; a non-strict load reports missing and unexpected names")
    func stateDictSemantics() throws {
        let model = try CheckpointModel()
        let state = model.stateDict()
        #expect(Set(state.keys) == ["embed.weight", "head.weight", "head.bias"])
        let before = state["head.bias"]!.scalars
        model.head.bias!.floats[0] += 1
        #expect(state["head.bias"]!.scalars == before)
        let other = try CheckpointModel(seed: 9)
        let keys = try other.loadStateDict(["head.bias": state["head.bias"]!, "extra": Tensor([1.0])], strict: false)
        #expect(keys == StateDictKeys(missing: ["embed.weight", "head.weight"], unexpected: ["extra"]))
        #expect(other.head.bias!.scalars == before)
    }
}

// MARK: - Load faults: every bad file is rejected and no weight changes

@Suite("Checkpoints: corrupt files")
struct CheckpointLoadFaultTests {
    /// A valid file for CheckpointModel(), then each corruption, loaded into a model whose weights differ.
    @Test("truncated, bad header length, malformed JSON, unknown dtype, byte-count and name mismatches: clear errors, weights bit-identical")
    func rejectsCorruptFiles() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let good = try SafeTensors(tensors: CheckpointModel(seed: 5).stateDict()).serialized()
        let headerLength = Int(good[0]) | Int(good[1]) << 8
        let header = String(decoding: good[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{\"embed.weight\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]}"))

        func replacing(_ old: String, _ new: String) -> [UInt8] {
            precondition(old.utf8.count == new.utf8.count && header.contains(old))
            return Array(good[..<8]) + Array(header.replacingOccurrences(of: old, with: new).utf8) + Array(good[(8 + headerLength)...])
        }
        var lengthPastEnd = good
        let size = UInt64(good.count)
        for k in 0..<8 { lengthPastEnd[k] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(k))) }

        let cases: [(String, [UInt8], EmbeddingKitError.Kind, String)] = [
            ("empty file", [], .shape, "truncated file: 0 bytes, shorter than the 8-byte header length"),
            ("4 bytes", Array(good[..<4]), .shape, "truncated file: 4 bytes"),
            ("cut in the header", Array(good[..<40]), .shape, "header length \(headerLength) runs past the end of the file (40 bytes"),
            ("cut in the data", Array(good[..<(good.count - 10)]), .shape, "run past the end of the data"),
            ("last byte missing", Array(good.dropLast()), .shape, "run past the end of the data"),
            ("one byte too many", good + [0], .shape, "1 bytes belong to no tensor"),
            ("header length past the end", lengthPastEnd, .shape, "header length \(good.count) runs past the end of the file"),
            ("malformed JSON", replacing("\"shape\":[6,4]", "\"shape\" [6,4]"), .invalidArgument,
             "malformed header JSON at header byte 39: expected ':' after a field name, found '['"),
            ("malformed JSON: not an object", replacing("{\"embed", "[\"embed"), .invalidArgument, "the header must be a JSON object"),
            ("unknown dtype", replacing("\"dtype\":\"F32\",\"shape\":[6,4]", "\"dtype\":\"F31\",\"shape\":[6,4]"), .invalidArgument,
             "tensor \"embed.weight\": unknown dtype \"F31\""),
            ("shape / byte-count mismatch", replacing("[6,4]", "[6,5]"), .shape,
             "tensor \"embed.weight\": shape [6, 5] of F32 is 120 bytes but data_offsets [0, 96] hold 96"),
            ("dtype / byte-count mismatch", replacing("\"dtype\":\"F32\",\"shape\":[6,4]", "\"dtype\":\"I64\",\"shape\":[6,4]"), .shape,
             "shape [6, 4] of I64 is 192 bytes but data_offsets [0, 96] hold 96"),
            ("offsets that do not match the shape", replacing("[0,96]", "[4,96]"), .shape, "shape [6, 4] of F32 is 96 bytes but data_offsets [4, 96] hold 92"),
            ("a name the module does not have", replacing("\"embed.weight\"", "\"embed.wxight\""), .invalidArgument,
             "loadStateDict: unexpected \"embed.wxight\" (not parameters of this module); missing \"embed.weight\""),
            ("F64 data", try SafeTensors.float64File(), .invalidArgument, "is F64; EmbeddingKit reads F32, F16 and BF16"),
        ]
        for (what, bytes, kind, message) in cases {
            let path = folder + "/bad.safetensors"
            writeFileBytes(bytes, path)
            let model = try CheckpointModel(seed: 7)
            let before = parameterBits(model)
            do {
                try model.load(from: path)
                Issue.record("\(what): loaded")
            } catch {
                #expect(error.kind == kind, "\(what): \(error.message)")
                #expect(error.message.hasPrefix(path + ": "), "\(what): \(error.message)")
                #expect(error.message.contains(message), "\(what): got \(error.message)")
            }
            #expect(parameterBits(model) == before, "\(what): weights changed")
        }
    }

    @Test("a file whose shapes or dtypes do not match the module is rejected before any weight changes")
    func rejectsMismatchedModule() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        try CheckpointModel(count: 6).save(to: folder + "/six.safetensors")
        let seven = try CheckpointModel(count: 7, seed: 3)
        let before = parameterBits(seven)
        #expect {
            try seven.load(from: folder + "/six.safetensors")
        } throws: { error in
            let e = error as! EmbeddingKitError
            return e.kind == .shape && e.message.contains("\"embed.weight\" has shape [6, 4] in the state dictionary, [7, 4] in the module")
        }
        #expect(parameterBits(seven) == before)
        // head.* would have loaded: nothing is copied when any entry fails, strict or not
        #expect(throws: EmbeddingKitError.self) { try seven.load(from: folder + "/six.safetensors", strict: false) }
        #expect(parameterBits(seven) == before)
        // an int64 tensor under a float parameter's name
        var state = try CheckpointModel(seed: 4).stateDict()
        state["head.bias"] = Tensor(shape: [3], indices: [1, 2, 3])
        try SafeTensors.save(state, to: folder + "/int.safetensors")
        #expect {
            try seven.load(from: folder + "/int.safetensors")
        } throws: { error in
            let e = error as! EmbeddingKitError
            return e.kind == .invalidArgument && e.message.contains("\"head.bias\" is int64 in the state dictionary, float32 in the module")
        }
        #expect(parameterBits(seven) == before)
        // a missing parameter, strict
        state = try CheckpointModel(count: 7, seed: 4).stateDict()
        state["head.bias"] = nil
        #expect(throws: EmbeddingKitError.self) { try seven.loadStateDict(state) }
        #expect(parameterBits(seven) == before)
    }
}

extension SafeTensors {
    /// A valid file holding one F64 tensor named embed.weight (written by hand: our writer has no F64).
    static func float64File() throws -> [UInt8] {
        var header = Array("{\"embed.weight\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}".utf8)
        while header.count % 8 != 0 { header.append(32) }
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        return out + header + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
    }
}

// MARK: - Save faults

/// The big table of the kill test (4 MiB, so a write takes a while) and its contents at step k:
/// seeded N(0, 1) values with row 0 set to k.
enum KillTestModel {
    static let count = 2048, dimension = 512
    static let base: [Float] = Tensor.randn([count, dimension], generator: Generator(seed: 11)).scalars
    static func make() throws -> Embedding { try Embedding(pretrained: Tensor(shape: [count, dimension], values: base), freeze: false) }
    static func set(_ module: Embedding, step: Int) {
        for d in 0..<dimension { module.weight.floats[d] = Float(step) }
    }
}

/// A child process: this test binary run again (see `spawnTestChild`).
struct TestChild {
    let pid: pid_t

    /// How it ended: its exit code, or the signal that killed it.
    enum End: Equatable { case exited(Int32), signaled(Int32) }

    /// Waits for the child to end.
    func wait() -> End {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    }
}

/// Runs this test binary again as a child process (posix_spawn; Foundation's Process leaks a weak
/// reference that LeakSanitizer reports), executing only the test `test` (by default
/// `checkpointWriterChild`) with `environment` added, its output sent to /dev/null. Under
/// AddressSanitizer the child's quarantine is turned off, so that its RSS reflects live memory.
func spawnTestChild(_ environment: [String: String], test: String = "checkpointWriterChild") throws -> TestChild {
    var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    env["ASAN_OPTIONS"] = (env["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "quarantine_size_mb=0"
    let executable = "/proc/self/exe"
    let arguments = [executable, "--testing-library", "swift-testing", "--filter", test]
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in argv + envp { free(p) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    guard rc == 0 else { throw EmbeddingKitError(.io, "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
    return TestChild(pid: pid)
}

/// The child-process half of the save-fault tests; it runs only when a parent test starts it with
/// EK_CKPT_CHILD set (otherwise it is skipped, and asserts nothing).
///   loop:  saves the kill-test model at steps k+1, k+2, ... over EK_CKPT_PATH until killed (60 s at most);
///          creates the file EK_CKPT_READY, if set, when the loop starts
///   fsize: with RLIMIT_FSIZE at 1 MiB and SIGXFSZ ignored, saves once over EK_CKPT_PATH: the write
///          fails part-way (EFBIG, as a full disk fails with ENOSPC); writes the error to EK_CKPT_RESULT
///   mount: see `MountedFolder`; the others: see `CheckpointFileChild` (CheckpointFileTests.swift)
@Test(.enabled(if: ProcessInfo.processInfo.environment["EK_CKPT_CHILD"] != nil))
func checkpointWriterChild() throws {
    let env = ProcessInfo.processInfo.environment
    let path = env["EK_CKPT_PATH"]!
    let module = try KillTestModel.make()
    if env["EK_CKPT_CHILD"] == "loop" {
        var step = Int(try SafeTensors(contentsOf: path).metadata["step"]!)!
        if let ready = env["EK_CKPT_READY"] { writeFileBytes([], ready) }   // the parent's clock starts now
        let start = Date()
        while Date().timeIntervalSince(start) < 60 {
            step += 1
            KillTestModel.set(module, step: step)
            try module.save(to: path, metadata: ["step": "\(step)"])
        }
    } else if env["EK_CKPT_CHILD"] == "mount" {
        try MountedFolder.fullAndReadOnly(module, folder: env["EK_CKPT_FOLDER"]!, result: env["EK_CKPT_RESULT"]!)
    } else if let mode = env["EK_CKPT_CHILD"], let run = CheckpointFileChild.modes[mode] {
        try run(env)
    } else {
        var limit = rlimit(rlim_cur: 1 << 20, rlim_max: 1 << 20)
        #expect(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0)
        signal(SIGXFSZ, SIG_IGN)
        KillTestModel.set(module, step: 1)
        var message = "saved (no error)"
        do { try module.save(to: path, metadata: ["step": "1"]) } catch { message = error.message }
        try message.write(toFile: env["EK_CKPT_RESULT"]!, atomically: false, encoding: .utf8)
    }
}

/// The "mount" child: a real full filesystem and a real read-only one, for root too. In a mount
/// namespace of its own (unshare(CLONE_NEWNS) for this thread, mounts made private so that nothing
/// reaches the host), it mounts a 6 MiB tmpfs on `folder`, saves the 4 MiB kill-test model at step 0
/// (fits), then at step 1 (the temporary file runs out of space: ENOSPC), remounts the tmpfs read-only
/// and saves at step 2 (EROFS). After each failure the folder must hold only the step-0 file, and it
/// must load bit-identically. Writes one line per check to `result`; "unavailable: ..." when the
/// process may not make a mount namespace (no CAP_SYS_ADMIN, e.g. an unprivileged container).
enum MountedFolder {
    typealias Unshare = @convention(c) (Int32) -> Int32
    typealias Mount = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UInt, UnsafeRawPointer?) -> Int32
    static let cloneNewNS: Int32 = 0x0002_0000
    static let (msReadOnly, msRemount, msRecursive, msPrivate): (UInt, UInt, UInt, UInt) = (1, 32, 16384, 1 << 18)

    static func fullAndReadOnly(_ module: Embedding, folder: String, result: String) throws {
        var report: [String] = []
        defer { try? report.joined(separator: "\n").write(toFile: result, atomically: false, encoding: .utf8) }
        // libc's unshare(2) and mount(2), which the Glibc module does not import
        guard let u = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare"),
              let m = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mount") else {
            report.append("unavailable: dlsym(unshare, mount) failed")
            return
        }
        let unshare = unsafeBitCast(u, to: Unshare.self), mount = unsafeBitCast(m, to: Mount.self)
        func reason() -> String { String(cString: strerror(errno)) }
        guard unshare(cloneNewNS) == 0 else { report.append("unavailable: unshare(CLONE_NEWNS): \(reason())"); return }
        guard mount(nil, "/", nil, msRecursive | msPrivate, nil) == 0 else {
            report.append("unavailable: making the mounts private: \(reason())")
            return
        }
        guard mount("tmpfs", folder, "tmpfs", 0, "size=6m") == 0 else {
            report.append("unavailable: mount tmpfs: \(reason())")
            return
        }
        let path = folder + "/model.safetensors"
        KillTestModel.set(module, step: 0)
        try module.save(to: path, metadata: ["step": "0"])
        let saved = parameterBits(module)
        func attempt(_ step: Int, _ label: String) throws {
            KillTestModel.set(module, step: step)
            do {
                try module.save(to: path, metadata: ["step": "\(step)"])
                report.append("\(label): saved (no error)")
            } catch {
                report.append("\(label): error: \(error.message)")
            }
            report.append("\(label): listing: \(folderListing(folder).joined(separator: ","))")
            let loaded = try KillTestModel.make()
            KillTestModel.set(loaded, step: 99)
            do {
                try loaded.load(from: path)
                report.append("\(label): previous checkpoint \(parameterBits(loaded) == saved ? "bit-identical" : "CHANGED")")
            } catch {
                report.append("\(label): previous checkpoint does not load: \(error.message)")
            }
        }
        try attempt(1, "full")
        guard mount(nil, folder, nil, msRemount | msReadOnly, nil) == 0 else {
            report.append("read-only: remount failed: \(reason())")
            return
        }
        try attempt(2, "read-only")
    }
}

@Suite("Checkpoints: save faults", .serialized)
struct CheckpointSaveFaultTests {
    /// The only protection a root-run test can rely on is one the kernel enforces for root too.
    @Test("saving where no file can be created fails with the path and reason, creating nothing")
    func unwritableLocations() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let model = try CheckpointModel()
        writeFileBytes([1, 2, 3], folder + "/plain-file")
        // 1. the parent "folder" is a regular file: open() fails with ENOTDIR, root or not
        let underFile = folder + "/plain-file/model.safetensors"
        #expect {
            try model.save(to: underFile)
        } throws: { error in
            let e = error as! EmbeddingKitError
            return e.kind == .io && e.message.contains("cannot save '\(underFile)'") && e.message.contains("Not a directory")
        }
        #expect(fileBytes(folder + "/plain-file") == [1, 2, 3])
        // 2. /proc accepts no new files, not even from root
        let inProc = "/proc/ek-checkpoint-test-\(getpid()).safetensors"
        #expect(throws: EmbeddingKitError.self) { try model.save(to: inProc) }
        #expect(access(inProc, F_OK) != 0)
        // 3. a folder that does not exist
        #expect(throws: EmbeddingKitError.self) { try model.save(to: folder + "/missing/model.safetensors") }
        // 4. the target is a folder: refused before anything is written (a rename fails late for a
        //    folder, and would replace an empty one); "a rename that fails removes..." covers the late path
        try FileManager.default.createDirectory(atPath: folder + "/taken", withIntermediateDirectories: false)
        writeFileBytes([9], folder + "/taken/inside")
        #expect {
            try model.save(to: folder + "/taken")
        } throws: { error in
            let e = error as! EmbeddingKitError
            return e.kind == .io && e.message == "cannot save '\(folder)/taken': it is a directory, not a regular file; nothing was written"
        }
        #expect(folderListing(folder) == ["plain-file", "taken"])
        #expect(folderListing(folder + "/taken") == ["inside"])
    }

    /// A write that fails part-way (the file-size limit, which binds root too, in a child process
    /// so that no other test's writes are affected): the error names the path and the reason, the
    /// temporary file is removed, and the previous checkpoint loads bit-identically.
    @Test("a write that fails part-way leaves the previous checkpoint whole")
    func writeFailsPartWay() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/model.safetensors", result = folder + "/result.txt"
        let original = try KillTestModel.make()
        KillTestModel.set(original, step: 0)
        try original.save(to: path, metadata: ["step": "0"])
        let before = fileBytes(path)
        let child = try spawnTestChild(["EK_CKPT_CHILD": "fsize", "EK_CKPT_PATH": path, "EK_CKPT_RESULT": result])
        #expect(child.wait() == .exited(0))
        let message = (try? String(contentsOfFile: result, encoding: .utf8)) ?? "(no result)"
        #expect(message.contains("cannot save '\(path)'") && message.contains("write the temporary file")
                && message.contains("File too large"), "\(message)")
        #expect(folderListing(folder) == ["model.safetensors", "result.txt"])   // the temporary file is gone
        let fileUnchanged = fileBytes(path) == before          // (4 MiB: compared outside #expect, which
        #expect(fileUnchanged, "the checkpoint changed")       //  would diff a failed comparison element by element)
        let loaded = try KillTestModel.make()
        KillTestModel.set(loaded, step: 99)
        try loaded.load(from: path)
        let sameWeights = parameterBits(loaded) == parameterBits(original)
        #expect(sameWeights, "the previous checkpoint does not load bit-identically")
    }

    /// A full filesystem (ENOSPC part-way through the temporary file) and a read-only one (EROFS at
    /// its creation), both real: a tmpfs mounted in a child's own mount namespace (`MountedFolder`).
    /// Each save fails with the path and the system's reason, leaves no temporary file, and the
    /// previous checkpoint loads bit-identically. Where the test process may not create a mount
    /// namespace (no CAP_SYS_ADMIN), it says so and checks nothing more: `writeFailsPartWay` covers
    /// the same failure path with a file-size limit.
    @Test("a save into a full or a read-only filesystem fails cleanly; the previous checkpoint loads bit-identically")
    func fullAndReadOnlyFilesystems() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let mountPoint = folder + "/mnt", result = folder + "/result.txt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let child = try spawnTestChild(["EK_CKPT_CHILD": "mount", "EK_CKPT_PATH": folder + "/unused", "EK_CKPT_FOLDER": mountPoint,
                                        "EK_CKPT_RESULT": result])
        #expect(child.wait() == .exited(0))
        let lines = ((try? String(contentsOfFile: result, encoding: .utf8)) ?? "(no result)").split(separator: "\n").map(String.init)
        if let unavailable = lines.first, unavailable.hasPrefix("unavailable:") {
            print("fullAndReadOnlyFilesystems: not run here (\(unavailable))")
            return
        }
        let path = mountPoint + "/model.safetensors"
        let expected = [   // line prefixes
            "full: error: cannot save '\(path)': write the temporary file", "full: listing: model.safetensors",
            "full: previous checkpoint bit-identical",
            "read-only: error: cannot save '\(path)': create the temporary file", "read-only: listing: model.safetensors",
            "read-only: previous checkpoint bit-identical",
        ]
        #expect(lines.count == expected.count && zip(lines, expected).allSatisfy { $0.hasPrefix($1) }, "\(lines)")
        #expect(lines.first?.hasSuffix("No space left on device (errno 28)") == true, "\(lines)")
        #expect(lines.count > 3 && lines[3].hasSuffix("Read-only file system (errno 30)"), "\(lines)")
        print("fullAndReadOnlyFilesystems: \(lines.first ?? "") | \(lines.count > 3 ? lines[3] : "")")
    }

    /// A child saves in a loop (steps k+1, k+2, ...); it is SIGKILLed at a random moment 0-400 ms
    /// after it reports that its loop starts (a fixed delay from the spawn would mostly land in the
    /// child's start-up when the machine is loaded or the binary runs under ASan). After each kill the
    /// checkpoint must load and hold exactly one complete step's values, never going back. Leftover
    /// temporary files show that kills did land mid-write.
    @Test("a writer killed at random points never leaves a broken checkpoint")
    func killedWriter() throws {
        let folder = makeTemporaryFolder(), readyFolder = makeTemporaryFolder()
        defer { removeFolder(folder); removeFolder(readyFolder) }
        let path = folder + "/model.safetensors", ready = readyFolder + "/ready"
        let module = try KillTestModel.make()
        KillTestModel.set(module, step: 0)
        try module.save(to: path, metadata: ["step": "0"])
        var generator = SystemRandomNumberGenerator()
        var lastStep = 0, rounds = 0, midWrite = 0, advanced = 0
        let start = Date()
        while rounds < 30 && (midWrite < 3 || rounds < 6) && Date().timeIntervalSince(start) < 15 {
            rounds += 1
            unlink(ready)
            let child = try spawnTestChild(["EK_CKPT_CHILD": "loop", "EK_CKPT_PATH": path, "EK_CKPT_READY": ready])
            let spawned = Date()
            while access(ready, F_OK) != 0 && Date().timeIntervalSince(spawned) < 60 { usleep(2_000) }
            usleep(UInt32.random(in: 0...400_000, using: &generator))
            kill(child.pid, SIGKILL)
            #expect(child.wait() == .signaled(SIGKILL))
            // each save first removes the temporaries of writers that are gone: at most the last one's is left
            let leftovers = folderListing(folder).filter { $0 != "model.safetensors" }
            if !leftovers.isEmpty { midWrite += 1 }
            #expect(leftovers.count <= 1 && leftovers.allSatisfy { $0.hasPrefix(".ek-save-") }, "round \(rounds): \(leftovers)")
            let file = try SafeTensors(contentsOf: path)       // must parse: never a torn file
            let step = try #require(Int(file.metadata["step"] ?? ""))
            #expect(step >= lastStep, "the checkpoint went back from step \(lastStep) to \(step)")
            if step > lastStep { advanced += 1 }
            lastStep = step
            KillTestModel.set(module, step: step)
            let loaded = try KillTestModel.make()
            try loaded.load(from: path)
            let identical = parameterBits(loaded) == parameterBits(module)
            #expect(identical, "round \(rounds): step \(step) is not bit-identical")
        }
        try module.save(to: path, metadata: ["step": "\(lastStep)"])
        #expect(folderListing(folder) == ["model.safetensors"], "a stale temporary file survived the next save")
        print("killedWriter: \(rounds) kills, \(midWrite) mid-write (temporary file present), the checkpoint advanced in \(advanced), last step \(lastStep)")
        #expect(advanced >= 1, "the child never completed a save")
        #expect(midWrite >= 1, "no kill landed mid-write")
    }
}
