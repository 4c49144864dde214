import Foundation
import Testing
@testable import KetenzichtDaemon

/// `ingest` with a `path`: the daemon reads only what the caller could read, never its own state.
@Suite struct IngestPathPolicyTests {
    /// A 0755 directory with a state directory, a world-readable file and a private one.
    final class Layout {
        let root: String
        init() throws {
            root = NSTemporaryDirectory() + "kz-path-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
            chmod(root, 0o755)
            for (name, mode) in [("public.ndjson", 0o644), ("private.ndjson", 0o600), ("state/pseudonym.key", 0o600)] {
                #expect(FileManager.default.createFile(atPath: root + "/" + name, contents: Data("{}\n".utf8)))
                chmod(root + "/" + name, mode_t(mode))
            }
            try FileManager.default.createSymbolicLink(atPath: root + "/innocent.ndjson", withDestinationPath: root + "/state/pseudonym.key")
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    static let nobody: UInt32 = 65_534

    @Test func theStateDirectoryIsRefusedEvenToRoot() throws {
        let layout = try Layout()
        let refusal = IngestPathPolicy.refusal(path: layout.root + "/state/pseudonym.key", uid: 0, gid: 0, stateDirectory: layout.root + "/state")
        #expect(refusal?.contains("lies inside the daemon's state directory") == true)
    }

    @Test func aSymlinkIntoTheStateDirectoryIsRefused() throws {
        let layout = try Layout()
        let refusal = IngestPathPolicy.refusal(path: layout.root + "/innocent.ndjson", uid: 0, gid: 0, stateDirectory: layout.root + "/state")
        #expect(refusal?.contains("lies inside the daemon's state directory") == true)
    }

    @Test func aFileTheCallerCannotReadIsRefused() throws {
        let layout = try Layout()
        let refusal = IngestPathPolicy.refusal(path: layout.root + "/private.ndjson", uid: Self.nobody, gid: Self.nobody, stateDirectory: layout.root + "/state")
        #expect(refusal == "uid 65534 may not read \(layout.root)/private.ndjson itself, so the daemon will not read it on its behalf")
    }

    @Test func aFileTheCallerCanReadIsAllowed() throws {
        let layout = try Layout()
        #expect(IngestPathPolicy.refusal(path: layout.root + "/public.ndjson", uid: Self.nobody, gid: Self.nobody, stateDirectory: layout.root + "/state") == nil)
        #expect(IngestPathPolicy.refusal(path: layout.root + "/private.ndjson", uid: 0, gid: 0, stateDirectory: layout.root + "/state") == nil)
    }

    @Test func aClosedDirectoryOnTheWayIsRefused() throws {
        let layout = try Layout()
        chmod(layout.root, 0o700)
        let refusal = IngestPathPolicy.refusal(path: layout.root + "/public.ndjson", uid: Self.nobody, gid: Self.nobody, stateDirectory: layout.root + "/state")
        #expect(refusal?.hasPrefix("uid 65534 may not read") == true)
    }

    @Test func aDirectoryIsNotAFile() throws {
        let layout = try Layout()
        let refusal = IngestPathPolicy.refusal(path: layout.root, uid: 0, gid: 0, stateDirectory: layout.root + "/state")
        #expect(refusal == "path \(layout.root) is not a regular file")
    }
}
