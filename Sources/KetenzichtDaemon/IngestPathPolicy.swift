import CPeerCred
import Foundation

/// `ingest` with a `path` makes the daemon read a file with its own rights. Without a check an
/// operator could have it read what only the daemon may read — the pseudonymisation key, the store —
/// and see fragments of it echoed in error messages. So the file must be one the caller could read
/// itself, and never lie inside the state directory.
enum IngestPathPolicy {
    /// Why the caller may not have the daemon read `path`, or nil when it may.
    static func refusal(path: String, uid: UInt32, gid: UInt32, stateDirectory: String) -> String? {
        guard let resolved = realpath(path, nil) else { return "path \(path) cannot be resolved" }
        let file = String(cString: resolved)
        free(resolved)
        if let stateResolved = realpath(stateDirectory, nil) {
            let state = String(cString: stateResolved)
            free(stateResolved)
            if file == state || file.hasPrefix(state + "/") {
                return "path \(path) lies inside the daemon's state directory; ingest files from elsewhere"
            }
        }
        var info = stat()
        guard stat(file, &info) == 0 else { return "path \(path) cannot be inspected (errno \(errno))" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "path \(path) is not a regular file" }
        if uid == 0 { return nil }
        // The directories on the way must let the caller through as well.
        guard grants(info, to: uid, gid: gid, owner: S_IRUSR, group: S_IRGRP, others: S_IROTH),
              callerCanTraverse(to: file, uid: uid, gid: gid) else {
            return "uid \(uid) may not read \(path) itself, so the daemon will not read it on its behalf"
        }
        return nil
    }

    private static func callerCanTraverse(to file: String, uid: UInt32, gid: UInt32) -> Bool {
        var directory = (file as NSString).deletingLastPathComponent
        while !directory.isEmpty {
            var info = stat()
            guard stat(directory, &info) == 0, grants(info, to: uid, gid: gid, owner: S_IXUSR, group: S_IXGRP, others: S_IXOTH) else {
                return false
            }
            if directory == "/" { break }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return true
    }

    /// Whether the mode bits of `info` give the permission (`owner`, `group` or `others` bit, by
    /// who the caller is to the file) to uid/gid, the way the kernel decides it.
    private static func grants(_ info: stat, to uid: UInt32, gid: UInt32, owner: mode_t, group: mode_t, others: mode_t) -> Bool {
        if info.st_uid == uid { return info.st_mode & owner != 0 }
        if info.st_gid == gid || ketenzicht_user_in_group(uid, info.st_gid) != 0 { return info.st_mode & group != 0 }
        return info.st_mode & others != 0
    }
}
