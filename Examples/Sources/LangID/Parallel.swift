import Dispatch

/// Runs `body(i)` for every `i` in `0..<count` on up to `threads` threads and returns the results in
/// index order.
///
/// Worker `w` handles indices `w, w + threads, w + 2·threads, …` (a static assignment), so which
/// thread computes an item never affects what it computes: results are identical for any thread
/// count. `threads` defaults to the number of active processors.
func parallelMap<Result>(count: Int, threads: Int? = nil, _ body: (Int) -> Result) -> [Result] {
    let workers = max(1, min(threads ?? ProcessInfoCores.active, count))
    if workers == 1 || count < 2 { return (0..<count).map(body) }
    let results = UnsafeMutableBufferPointer<Result>.allocate(capacity: count)
    defer { results.deallocate() }
    nonisolated(unsafe) let shared = results
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < count {
                (shared.baseAddress! + i).initialize(to: work(i))
                i += workers
            }
        }
    }
    let array = Array(results)
    _ = results.deinitialize()
    return array
}

/// The number of processors available to this process.
enum ProcessInfoCores {
    static var active: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return max(1, Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
