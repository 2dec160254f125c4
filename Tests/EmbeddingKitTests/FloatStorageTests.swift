#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import EmbeddingKit

/// Tensor float storage: cache-line aligned, and copy-on-write exactly like the `[Float]` it replaced.
@Suite("Float storage")
struct FloatStorageTests {
    private func address(_ s: FloatStorage) -> Int { s.withPointer { Int(bitPattern: $0) } }

    @Test("elements start on a 64-byte boundary, whatever the size or how the tensor was made")
    func aligned() throws {
        for n in [0, 1, 3, 64, 100, 4097, 200_000 * 64] {
            #expect(address(FloatStorage(repeating: 1, count: n)) % 64 == 0, "count \(n)")
            #expect(address(FloatStorage.uninitialized(count: n)) % 64 == 0, "count \(n)")
        }
        let table = Tensor.randn([1000, 64], generator: Generator(seed: 1))
        let bag = try embeddingBag(Tensor(shape: [2, 3], indices: [0, 1, 2, 3, 4, 5]), table)
        for t in [table, bag, Tensor([1.0, 2, 3]), Tensor.zeros([7, 3]), Tensor.matmul(table, table.transpose(0, 1))] {
            #expect(address(t.floats) % 64 == 0, "shape \(t.shape)")
        }
    }

    @Test("large storage starts on a 2 MiB boundary with huge pages advised; small storage does not")
    func hugePages() throws {
        let large = FloatStorage(repeating: 2, count: FloatStorage.hugePageMinBytes / 4 + 3)
        #expect(address(large) % FloatStorage.hugePageBytes == 0)
        #expect(large[0] == 2 && large[large.count - 1] == 2)
        let small = FloatStorage(repeating: 2, count: FloatStorage.hugePageMinBytes / 4 - 1)
        // the kernel marks an advised mapping "hg" in its VmFlags (Linux >= 3.8)
        if let flags = vmFlags(containing: address(large)) { #expect(flags.contains("hg"), "VmFlags: \(flags)") }
        if let flags = vmFlags(containing: address(small)) { #expect(!flags.contains("hg"), "VmFlags: \(flags)") }
    }

    /// The VmFlags of the mapping holding `address`, from /proc/self/smaps (nil where there is none).
    private func vmFlags(containing address: Int) -> [Substring]? {
        // read line by line: /proc files report a size of 0, which whole-file readers believe
        guard let file = fopen("/proc/self/smaps", "r") else { return nil }
        defer { fclose(file) }
        var inside = false
        var buffer: UnsafeMutablePointer<CChar>? = nil, capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) > 0, let buffer {
            let fields = String(cString: buffer).split(whereSeparator: { $0 == " " || $0 == "\n" })
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside && fields.first == "VmFlags:" {
                return Array(fields.dropFirst())
            }
        }
        return nil
    }

    @Test("copies share elements until one writes; the other keeps its values")
    func copyOnWrite() {
        var a = FloatStorage([1, 2, 3, 4])
        let b = a
        #expect(address(a) == address(b))
        a[1] = 20
        #expect(Array(a) == [1, 20, 3, 4] && Array(b) == [1, 2, 3, 4])
        #expect(address(a) != address(b))
        var c = b
        c.withMutablePointer { $0[0] = -1 }
        #expect(Array(c) == [-1, 2, 3, 4] && Array(b) == [1, 2, 3, 4])
        // a tensor and its detached copy, as with arrays
        let t = Tensor([5.0, 6]), d = t.detach()
        t.floats[0] = 50
        #expect(t.scalars == [50, 6] && d.scalars == [5, 6])
    }

    @Test("append, replace and remove keep order, and reuse the buffer when it is unshared")
    func rangeReplacement() {
        let first: [Float] = (0..<10).map(Float.init), last: [Float] = (90..<100).map(Float.init)
        var s = FloatStorage()
        for v in 0..<100 { s.append(Float(v)) }
        #expect(Array(s) == (0..<100).map(Float.init))
        s.replaceSubrange(10..<90, with: [-1, -2])
        let replaced: [Float] = first + [-1, -2] + last
        #expect(Array(s) == replaced)
        let before = address(s)
        s.removeLast(12)
        #expect(s.count == 10 && Array(s) == first && address(s) == before)
        s += s[2..<4] // reading its own elements while growing
        let grown: [Float] = first + [2, 3]
        #expect(Array(s) == grown)
        #expect(s == FloatStorage(grown) && s != FloatStorage([1]))
    }

    @Test("scratch storage reuses an unshared buffer and copies a shared one")
    func scratchReuse() {
        let kept = FloatStorage(repeating: 7, count: 64)
        var spare: FloatStorage? = kept
        let reused = FloatStorage.scratch(count: 32, reusing: &spare)
        #expect(spare == nil && reused.count == 32)
        #expect(address(reused) != address(kept), "`kept` still holds the buffer, so it must be copied")
        #expect(Array(kept) == [Float](repeating: 7, count: 64))
        var unshared: FloatStorage? = FloatStorage(repeating: 7, count: 64)
        let at = address(unshared!)
        let again = FloatStorage.scratch(count: 48, reusing: &unshared)
        #expect(address(again) == at && again.count == 48)
    }
}
