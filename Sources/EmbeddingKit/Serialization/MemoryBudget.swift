import Glibc

/// The memory one checkpoint load may allocate for its tensors, checked before any is allocated:
/// a file's header can claim tensors far larger than the file (a sparse file) or than the machine,
/// and an allocation that fails stops the process.
enum MemoryBudget {
    /// The least of the machine's physical memory, the process's limits on address space and data
    /// (`ulimit -v`, `ulimit -d`) and its cgroup's `memory.max`, in bytes.
    static func bytes() -> Int {
        var limit = Int.max
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        if pages > 0 && pageSize > 0 { limit = pages.multipliedReportingOverflow(by: pageSize).overflow ? Int.max : pages * pageSize }
        for resource in [RLIMIT_AS, RLIMIT_DATA] {
            var r = rlimit()
            if getrlimit(__rlimit_resource_t(resource.rawValue), &r) == 0 { // RLIM_INFINITY is the largest value
                limit = min(limit, Int(clamping: r.rlim_cur))
            }
        }
        if let cgroup = cgroupMemoryMax() { limit = min(limit, cgroup) }
        return limit
    }

    /// Throws `allocation` when `needed` bytes exceed `bytes()`; `largest` describes the largest
    /// tensor for the message.
    static func check(_ needed: Int, largest: String) throws(EmbeddingKitError) {
        let budget = bytes()
        guard needed > budget else { return }
        throw EmbeddingKitError(.allocation,
            "safetensors: the tensors need \(needed) bytes of memory as float32 and int64 (the largest, \(largest)), more than the \(budget) bytes this process can have (physical memory, ulimit -v / -d, cgroup memory.max); nothing was allocated")
    }

    /// cgroup v2's `memory.max` for this process, if it has a number there.
    private static func cgroupMemoryMax() -> Int? {
        guard let membership = FileIO.readSmallFile("/proc/self/cgroup") else { return nil }
        for line in membership.split(separator: "\n") where line.hasPrefix("0::") {
            let folder = "/sys/fs/cgroup" + line.dropFirst(3)
            if let text = FileIO.readSmallFile(folder + "/memory.max"),
               let value = Int(text.split(whereSeparator: \.isWhitespace).first ?? "") { return value }
        }
        return nil
    }
}
