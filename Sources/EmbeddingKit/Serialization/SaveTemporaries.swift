import Glibc

/// The temporary files of atomic saves (`FileIO.writeAtomically`): their names, and the removal of
/// those that a killed save left behind (each as large as a model).
///
/// A name is `.ek-save-<pid>-<host>-<random>`: short, so that a file name of 255 bytes can still be
/// saved beside it, and it says whose it is. `<host>` (16 hex digits) identifies this boot of this
/// machine and this process's PID namespace, within which a PID names one process; files saved by
/// other containers, or by other machines into a shared folder, carry other tags.
///
/// Before each save, the temporaries in the target's folder that are clearly stale are removed: a
/// regular file owned by this user, named by the pattern, and either
///   - with this host tag, written by a process that no longer exists (`kill(pid, 0)` fails with
///     ESRCH), or
///   - with another host tag (a writer we cannot ask), not modified for `foreignAge` seconds.
/// A save in progress, in this process or another, is never touched: its writer exists, and its
/// file is modified as it is written. Removal is best effort: it never makes a save fail.
enum SaveTemporaries {
    static let prefix = ".ek-save-"
    /// Temporaries of other hosts are removed once unmodified for this long (a day).
    static let foreignAge = 24 * 60 * 60

    /// This boot, machine and PID namespace as 16 hex digits; nil where /proc does not tell.
    static let hostTag: String? = {
        guard let boot = FileIO.readSmallFile("/proc/sys/kernel/random/boot_id"), let namespace = readLink("/proc/self/ns/pid") else {
            return nil
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
        for byte in (boot + "|" + namespace).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hex16(hash)
    }()

    /// A new temporary file name for this process.
    static func newName() -> String {
        prefix + "\(getpid())-\(hostTag ?? hex16(0))-\(hex16(UInt64.random(in: 0...UInt64.max)))"
    }

    /// The writer's PID and host tag, if `name` follows the pattern exactly.
    static func owner(of name: String) -> (pid: pid_t, tag: String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count <= 10, parts[0].allSatisfy({ $0 >= "0" && $0 <= "9" }),
              let pid = pid_t(parts[0]), pid > 0, isHex16(parts[1]), isHex16(parts[2]) else { return nil }
        return (pid, String(parts[1]))
    }

    /// Removes the stale temporaries in `folder` (see the type's description).
    static func removeStale(in folder: String) {
        guard let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        let now = Int(time(nil))
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(validatingCString: $0) }
            }
            guard let name, let (pid, tag) = owner(of: name) else { continue }
            var info = stat()
            guard fstatat(dirfd(dir), name, &info, AT_SYMLINK_NOFOLLOW) == 0, FileIO.isRegular(info.st_mode),
                  info.st_uid == geteuid() else { continue }
            let stale: Bool
            if let ours = hostTag, tag == ours {
                stale = pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
            } else {
                stale = now - Int(info.st_mtim.tv_sec) > foreignAge
            }
            if stale { unlinkat(dirfd(dir), name, 0) }
        }
    }

    private static func hex16(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func isHex16(_ s: Substring) -> Bool {
        s.utf8.count == 16 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count - 1) }
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }
}
