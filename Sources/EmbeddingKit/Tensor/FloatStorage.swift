#if canImport(Glibc)
import Glibc
#endif

/// The float elements of a tensor: one 64-byte-aligned allocation, copy-on-write like `[Float]`.
///
/// `[Float]` keeps its elements 32 bytes into a malloc block, which for a large array is 16 bytes past
/// a 64-byte boundary: every 256-byte embedding row then spans 5 cache lines instead of 4, and the
/// kernels' streaming stores fall back to ordinary ones. Elements here start on a cache line.
///
/// Large allocations (`hugePageMinBytes` and up) are mappings of their own that start on a 2 MiB
/// boundary, with transparent huge pages asked for (`madvise(MADV_HUGEPAGE)`, which the default THP
/// mode of Debian and Ubuntu, "madvise", needs): an embedding table is read and updated at random
/// rows, and with 4 KiB pages nearly every row costs a TLB miss (W9 in Benchmarks/README.md). Where
/// THP is off the advice is ignored and the pages are ordinary ones.
struct FloatStorage {
    /// The allocation, shared by copies until one of them writes.
    final class Buffer {
        let base: UnsafeMutablePointer<Float>
        let capacity: Int
        /// The length of base's own mapping; 0 when base came from malloc.
        private let mappedBytes: Int

        init(capacity: Int) {
            self.capacity = capacity
            let slots = Swift.max(capacity, 1) // a valid pointer even when empty
            let bytes = slots * MemoryLayout<Float>.stride
            let memory: UnsafeMutableRawPointer
            if bytes >= FloatStorage.hugePageMinBytes, let mapped = FloatStorage.mapHugePages(bytes: bytes) {
                (memory, mappedBytes) = mapped
            } else {
                memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                mappedBytes = 0
            }
            base = memory.bindMemory(to: Float.self, capacity: slots)
        }

        deinit {
            if mappedBytes > 0 { munmap(base, mappedBytes) } else { base.deallocate() }
        }
    }

    /// The smallest allocation given its own huge-page mapping: large enough that rounding up to
    /// 2 MiB wastes at most a third.
    static let hugePageMinBytes = 4 << 20
    static let hugePageBytes = 2 << 20

    /// A mapping of `bytes` rounded up to 2 MiB, starting on a 2 MiB boundary, huge pages advised;
    /// nil if the system refuses the mapping (the caller then uses malloc).
    private static func mapHugePages(bytes: Int) -> (UnsafeMutableRawPointer, Int)? {
        #if os(Linux)
        let size = (bytes + hugePageBytes - 1) / hugePageBytes * hugePageBytes
        // map one huge page more, then give back the unaligned head and the rest of the tail
        guard let raw = mmap(nil, size + hugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { return nil }
        let head = (hugePageBytes - Int(bitPattern: raw) % hugePageBytes) % hugePageBytes
        if head > 0 { munmap(raw, head) }
        let aligned = raw + head
        munmap(aligned + size, hugePageBytes - head)
        _ = madvise(aligned, size, MADV_HUGEPAGE) // advice only: failure changes nothing
        return (aligned, size)
        #else
        return nil
        #endif
    }

    private var buffer: Buffer
    /// The number of elements.
    private(set) var count: Int

    private init(buffer: Buffer, count: Int) {
        self.buffer = buffer
        self.count = count
    }

    /// `count` elements whose contents are unspecified: for a kernel that writes every element.
    static func uninitialized(count: Int) -> FloatStorage {
        FloatStorage(buffer: Buffer(capacity: count), count: count)
    }

    init(repeating value: Float, count: Int) {
        self = .uninitialized(count: count)
        buffer.base.update(repeating: value, count: count)
    }

    init<S: Sequence>(_ elements: S) where S.Element == Float {
        let copied: FloatStorage? = elements.withContiguousStorageIfAvailable { src in
            let s = FloatStorage.uninitialized(count: src.count)
            if let from = src.baseAddress { s.buffer.base.update(from: from, count: src.count) }
            return s
        }
        if let copied {
            self = copied
        } else {
            self = FloatStorage(Array(elements))
        }
    }

    /// How many elements the allocation holds.
    var capacity: Int { buffer.capacity }

    /// Sets the count to `n`, keeping the first elements; the others are unspecified.
    mutating func resizeUninitialized(to n: Int) {
        makeUnique(capacity: n)
        count = n
    }

    /// The elements as an array (a copy).
    var array: [Float] { withUnsafeBufferPointer { Array($0) } }

    func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(buffer) {} }
        return try body(UnsafeBufferPointer(start: buffer.base, count: count))
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
    }

    /// Runs `body` with the first element's address (never nil; valid only inside `body`).
    func withPointer<R, E: Error>(_ body: (UnsafePointer<Float>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(buffer) {} }
        return try body(buffer.base)
    }

    /// Copies the elements first if another storage shares them (copy-on-write).
    mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        makeUnique(capacity: count)
        var elements = UnsafeMutableBufferPointer(start: buffer.base, count: count)
        defer { withExtendedLifetime(buffer) {} }
        return try body(&elements)
    }

    /// Runs `body` with the first element's address, writable (copy-on-write first).
    mutating func withMutablePointer<R, E: Error>(_ body: (UnsafeMutablePointer<Float>) throws(E) -> R) throws(E) -> R {
        makeUnique(capacity: count)
        defer { withExtendedLifetime(buffer) {} }
        return try body(buffer.base)
    }

    /// Makes the buffer this storage's own, with room for `capacity` elements.
    private mutating func makeUnique(capacity: Int) {
        if isKnownUniquelyReferenced(&buffer) && buffer.capacity >= capacity { return }
        let fresh = Buffer(capacity: Swift.max(capacity, count))
        fresh.base.update(from: buffer.base, count: count)
        buffer = fresh
    }
}

extension FloatStorage: RandomAccessCollection, MutableCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> Float {
        get {
            precondition(i >= 0 && i < count, "FloatStorage: index \(i) out of range 0..<\(count)")
            return withExtendedLifetime(buffer) { buffer.base[i] }
        }
        set {
            precondition(i >= 0 && i < count, "FloatStorage: index \(i) out of range 0..<\(count)")
            makeUnique(capacity: count)
            buffer.base[i] = newValue
        }
    }

    func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R? {
        try withUnsafeBufferPointer { try body($0) }
    }
}

extension FloatStorage: RangeReplaceableCollection {
    init() { self = .uninitialized(count: 0) }

    mutating func reserveCapacity(_ n: Int) { makeUnique(capacity: n) }

    mutating func replaceSubrange<C: Collection>(_ range: Range<Int>, with new: C) where C.Element == Float {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "FloatStorage: range \(range) out of 0..<\(count)")
        let added = new.count, total = count - range.count + added
        // grow geometrically, as Array does, so repeated appends stay linear
        makeUnique(capacity: total > buffer.capacity ? Swift.max(total, 2 * buffer.capacity) : total)
        let base = buffer.base
        // the tail moves within the buffer: memmove (the regions may overlap)
        UnsafeMutableRawPointer(base + range.lowerBound + added)
            .copyMemory(from: base + range.upperBound, byteCount: (count - range.upperBound) * MemoryLayout<Float>.stride)
        var at = range.lowerBound
        for v in new {
            base[at] = v
            at += 1
        }
        count = total
    }
}

extension FloatStorage: ExpressibleByArrayLiteral {
    init(arrayLiteral elements: Float...) { self.init(elements) }
}

extension FloatStorage: Equatable {
    static func == (a: FloatStorage, b: FloatStorage) -> Bool { a.elementsEqual(b) }
}

extension FloatStorage: CustomStringConvertible {
    var description: String { array.description }
}

/// Calls `body` with a pointer to `storage`'s elements, or NULL when there is no storage.
func withOptionalPointer<R>(_ storage: FloatStorage?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let storage else { return body(nil) }
    return storage.withPointer { body($0) }
}

/// Calls `body` with `storage`'s elements, writable, when `enabled`, else with NULL.
func withOptionalMutable<R>(_ enabled: Bool, _ storage: inout FloatStorage, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    enabled ? storage.withMutablePointer { body($0) } : body(nil)
}
