// ek-swift-bench: W5, W9 and W9a of `make bench` written against the public Swift API, as a user would
// write them (Benchmarks/README.md). The same sizes and measurement rule as ek_bench (Benchmarks/harness/) and peers.py:
// 8 index batches rotated between calls, warm-up (>= 8 calls and >= 0.2 s), then every call timed on
// its own until >= SECONDS have passed and >= MIN_REPEATS calls were made (or >= 8 calls and
// 4 x SECONDS); the figure is the median call. Each workload is checked before it is timed (W5-swift:
// one step's table update; W9: the loss) against the same computation written out with plain loops;
// a mismatch is an error line with "check": true, which fails `make bench`.
//
//   ek-swift-bench --serve     co-process of ek_bench, the protocol of peers.py: a hello line, then
//                              "run ID THREADS SECONDS MIN_REPEATS" lines answered by result lines and
//                              {"kind": "done"}; "quit" ends it.
//   ek-swift-bench [--workload W5-swift,W9,W9a] [--threads 1,2] [--seconds 1.5]
//                              standalone: JSON lines on stdout.
//
// W5-swift  EmbeddingBag(1M x 64, mode sum, sparse) forward over 4,096 bags x 40 (offsets), backward
//           from a fixed grad_out, SGD(lr 0.01).step(), zeroGrad().
// W9        EmbeddingBag(200k x 64, mode mean, sparse) -> Linear(64, 100) -> crossEntropy (mean),
//           backward, SGD(lr 0.1) over both modules, zeroGrad(); batch 256 bags x 20 tokens ([256, 20]).
// W9a       W9 with Adagrad(lr 0.1) in place of SGD.
#if canImport(Glibc)
import Glibc
#endif
import CKernels
import EmbeddingKit

let nbatch = 8

func emit(_ fields: [(String, String)]) {
    let body = fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
    let line = "{\(body)}\n"
    _ = line.withCString { write(1, $0, strlen($0)) } /* unbuffered: ek_bench reads line by line */
}
func str(_ s: String) -> String { "\"\(s.replacingOccurrences(of: "\"", with: "'"))\"" }
func num(_ v: Double) -> String { v.isFinite ? String(v) : "null" }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Busy CPU seconds of the whole machine (/proc/stat), to report how much others used meanwhile.
func machineBusy() -> Double? {
    guard let f = fopen("/proc/stat", "r") else { return nil }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    guard fgets(&line, 512, f) != nil else { return nil }
    let end = line.firstIndex(of: 0) ?? line.count
    let text = String(decoding: line[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let v = text.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard v.count >= 8 else { return nil }
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
func selfCPU() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6 + Double(u.ru_stime.tv_sec)
        + Double(u.ru_stime.tv_usec) * 1e-6
}

/// Uniform integers in [0, count) from a fixed seed (splitmix64), as Int64.
func randomIndices(_ n: Int, below count: Int, seed: UInt64) -> [Int64] {
    var s = seed
    return (0..<n).map { _ in
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int64((z ^ (z >> 31)) % UInt64(count))
    }
}

/// One training step per call; `b` picks the batch.
typealias Step = (Int) throws -> Void

func sparseStep() throws -> Step {
    manualSeed(20240601)
    let rows = 1_000_000, dim = 64, bags = 4096, perBag = 40, n = bags * perBag
    let bag = try EmbeddingBag(count: rows, dimension: dim, mode: .sum, sparse: true)
    let optimizer = try SGD(bag.parameters(), learningRate: 0.01)
    let inputs = (0..<nbatch).map { Tensor(shape: [n], indices: randomIndices(n, below: rows, seed: 500 + UInt64($0))) }
    let offsets = Tensor(shape: [bags], indices: (0..<bags).map { Int64($0 * perBag) })
    let gradOut = Tensor.rand([bags, dim], low: -1, high: 1)
    let step: Step = { b in
        optimizer.zeroGrad()
        try bag(inputs[b], offsets: offsets).backward(gradOut)
        try optimizer.step()
    }
    // Check first (ek_bench fails the run on a mismatch): one step from the initial table against
    // the update written out with plain loops, in double: W[r] -= lr * sum of the grad_out rows of
    // the bags holding r; every other row unchanged.
    let before = bag.weight.scalars, idx = inputs[0].indices, g = gradOut.scalars
    try step(0)
    let after = bag.weight.scalars
    var expected = [Int: [Double]]()
    for j in 0..<n {
        let r = Int(idx[j]), b = j / perBag
        var acc = expected[r] ?? [Double](repeating: 0, count: dim)
        for d in 0..<dim { acc[d] += Double(g[b * dim + d]) }
        expected[r] = acc
    }
    for (r, acc) in expected {
        for d in 0..<dim {
            let want = Double(before[r * dim + d]) - 0.01 * acc[d], got = Double(after[r * dim + d])
            if abs(got - want) > 1e-5 + 1e-5 * abs(want) {
                throw BenchCheck.mismatch("W5-swift: table row \(r) element \(d) is \(got) after one step, expected \(want)")
            }
        }
    }
    var r = 0
    while r < rows {
        if expected[r] == nil, before[r * dim ..< (r + 1) * dim] != after[r * dim ..< (r + 1) * dim] {
            throw BenchCheck.mismatch("W5-swift: row \(r), not in the batch, changed")
        }
        r += 997
    }
    return step
}

enum BenchCheck: Error { case mismatch(String) }

func textClassifierStep(adagrad: Bool) throws -> Step {
    manualSeed(20240601)
    let vocab = 200_000, dim = 64, classes = 100, batch = 256, tokens = 20
    let bag = try EmbeddingBag(count: vocab, dimension: dim, mode: .mean, sparse: true)
    let head = try Linear(dim, classes)
    let parameters = bag.parameters() + head.parameters()
    let optimizer: any Optimizer =
        adagrad ? try Adagrad(parameters, learningRate: 0.1) : try SGD(parameters, learningRate: 0.1)
    let inputs = (0..<nbatch).map {
        Tensor(shape: [batch, tokens], indices: randomIndices(batch * tokens, below: vocab, seed: 900 + UInt64($0)))
    }
    let targets = (0..<nbatch).map { Tensor(shape: [batch], indices: randomIndices(batch, below: classes, seed: 990 + UInt64($0))) }
    // Check first: the loss of batch 0 against the model written out with plain loops, in double.
    let table = bag.weight.scalars, w = head.weight.scalars, bias = head.bias!.scalars
    let idx = inputs[0].indices, tgt = targets[0].indices
    var want = 0.0
    for i in 0..<batch {
        var h = [Double](repeating: 0, count: dim)
        for k in 0..<tokens { for d in 0..<dim { h[d] += Double(table[Int(idx[i * tokens + k]) * dim + d]) / Double(tokens) } }
        var logits = [Double](repeating: 0, count: classes)
        for c in 0..<classes {
            logits[c] = Double(bias[c])
            for d in 0..<dim { logits[c] += Double(w[c * dim + d]) * h[d] }
        }
        let m = logits.max()!
        let lse = m + log(logits.reduce(0) { $0 + exp($1 - m) })
        want += (lse - logits[Int(tgt[i])]) / Double(batch)
    }
    let got = Double(try crossEntropy(head(try bag(inputs[0])), targets[0]).item)
    if abs(got - want) > 1e-5 + 1e-4 * abs(want) {
        throw BenchCheck.mismatch("W9: loss of batch 0 is \(got), the plain-loop model gives \(want)")
    }
    return { b in
        optimizer.zeroGrad()
        let loss = try crossEntropy(head(try bag(inputs[b])), targets[b])
        loss.backward()
        try optimizer.step()
    }
}

let workloads: [String: () throws -> Step] = [
    "W5-swift": sparseStep, "W9": { try textClassifierStep(adagrad: false) }, "W9a": { try textClassifierStep(adagrad: true) },
]

func measure(_ call: Step, seconds: Double, minRepeats: Int) throws -> [(String, String)] {
    var calls = 0
    let t0 = now()
    while calls < nbatch || (now() - t0 < 0.2 && calls < 100_000) {
        try call(calls % nbatch)
        calls += 1
    }
    var times: [Double] = []
    let busy0 = machineBusy(), self0 = selfCPU()
    let start = now()
    while true {
        let a = now()
        try call(times.count % nbatch)
        let b = now()
        times.append(b - a)
        let n = times.count, elapsed = b - start
        if (n >= minRepeats && elapsed >= seconds) || (n >= nbatch && elapsed >= 4 * seconds) || n >= 20_000 { break }
    }
    let wall = now() - start
    let busy1 = machineBusy(), self1 = selfCPU()
    times.sort()
    let n = times.count
    let median = n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2
    var foreign = 0.0
    if let busy0, let busy1 { foreign = max(0, ((busy1 - busy0) - (self1 - self0)) / wall) }
    return [("median_ms", num(1e3 * median)), ("min_ms", num(1e3 * times[0])), ("p25_ms", num(1e3 * times[n / 4])),
            ("p75_ms", num(1e3 * times[(3 * n) / 4])), ("repeats", String(n)), ("foreign_cpu", num(foreign))]
}

var current: (id: String, call: Step)? = nil

@MainActor func run(_ id: String, threads: [Int], seconds: Double, minRepeats: Int) {
    guard let make = workloads[id] else {
        emit([("kind", str("error")), ("workload", str(id)), ("message", str("unknown workload \(id)"))])
        return
    }
    if current?.id != id {
        current = nil
        do {
            try setNumThreads(threads[0])
            current = (id, try make())
        } catch BenchCheck.mismatch(let message) {
            emit([("kind", str("error")), ("workload", str(id)), ("check", "true"), ("message", str(message))])
            return
        } catch {
            emit([("kind", str("error")), ("workload", str(id)), ("message", str("setup: \(error)"))])
            return
        }
    }
    for t in threads {
        do {
            try setNumThreads(t)
            let res = try measure(current!.call, seconds: seconds, minRepeats: minRepeats)
            emit([("kind", str("result")), ("workload", str(id)), ("threads", String(t))] + res)
        } catch {
            emit([("kind", str("error")), ("workload", str(id)), ("threads", String(t)), ("message", str("\(error)"))])
        }
    }
}

@MainActor func hello() {
    emit([("kind", str("hello")), ("ok", "true"), ("api", str("EmbeddingKit (Swift)")),
          ("isa", str(String(cString: ek_isa_name(ek_get_isa()))))])
}

let args = Array(CommandLine.arguments.dropFirst())
if args.contains("--serve") {
    hello()
    while let line = readLine() {
        let parts = line.split(separator: " ").map(String.init)
        if parts.isEmpty || parts[0] == "quit" { break }
        if parts[0] == "run", parts.count == 5, let s = Double(parts[3]), let r = Int(parts[4]) {
            run(parts[1], threads: parts[2].split(separator: ",").compactMap { Int($0) }, seconds: s, minRepeats: r)
        } else {
            emit([("kind", str("error")), ("message", str("bad command: \(line)"))])
        }
        emit([("kind", str("done"))])
    }
} else {
    var opts = ["--workload": "W5-swift,W9,W9a", "--threads": "1,2", "--seconds": "1.5", "--min-repeats": "24"]
    var i = 0
    while i < args.count {
        guard opts[args[i]] != nil, i + 1 < args.count else {
            print("usage: ek-swift-bench [--serve] [--workload W5-swift,W9,W9a] [--threads 1,2] [--seconds S]")
            exit(1)
        }
        opts[args[i]] = args[i + 1]
        i += 2
    }
    hello()
    for id in opts["--workload"]!.split(separator: ",").map(String.init) {
        run(id, threads: opts["--threads"]!.split(separator: ",").compactMap { Int($0) },
            seconds: Double(opts["--seconds"]!) ?? 1.5, minRepeats: Int(opts["--min-repeats"]!) ?? 24)
    }
}
