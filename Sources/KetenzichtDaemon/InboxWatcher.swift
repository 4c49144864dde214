import Foundation
import KetenzichtCore
import KetenzichtIngest
import KetenzichtStore
public import Logging

/// Watches the inbox directory (SPEC §8): files dropped there are ingested and moved to
/// `processed/` (nothing rejected) or `rejected/` (with `<file>.errors.txt` beside it).
/// Writers should create files under a temporary name (a leading dot, or `.tmp`/`.part`) and
/// rename them when complete; files changed in the last second are left for the next round.
public struct InboxWatcher: Sendable {
    public let directory: String
    let state: DaemonState
    let logger: Logger

    public init(directory: String, state: DaemonState, logger: Logger) throws {
        self.directory = directory
        self.state = state
        self.logger = logger
        for sub in ["", "/processed", "/rejected"] {
            try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
    }

    /// Polls until the task is cancelled.
    public func run(every seconds: Double) async {
        while !Task.isCancelled {
            await scanOnce()
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        }
    }

    /// Ingests every complete file once; returns the names handled.
    @discardableResult
    public func scanOnce() async -> [String] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return [] }
        var handled: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".tmp") && !name.hasSuffix(".part") {
            let path = directory + "/" + name
            guard let attributes = try? manager.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  let modified = attributes[.modificationDate] as? Date, Date().timeIntervalSince(modified) >= 1
            else { continue }
            do {
                let summary = try await state.ingest(.file(path: path), format: nil, receivedAt: wallClock())
                let target = summary.rejected > 0 ? "rejected" : "processed"
                let destination = uniquePath(directory + "/" + target + "/" + name)
                try manager.moveItem(atPath: path, toPath: destination)
                if summary.rejected > 0 {
                    var report = "\(name): accepted \(summary.accepted), duplicates \(summary.duplicates), pending \(summary.pending), rejected \(summary.rejected)\n"
                    report += summary.errors.map { $0.description + "\n" }.joined()
                    if summary.rejected > summary.errors.count { report += "… and \(summary.rejected - summary.errors.count) more in the quarantine\n" }
                    try report.write(toFile: destination + ".errors.txt", atomically: true, encoding: .utf8)
                }
                logger.info("inbox file ingested", metadata: [
                    "file": "\(name)", "moved": "\(target)", "accepted": "\(summary.accepted)",
                    "duplicates": "\(summary.duplicates)", "rejected": "\(summary.rejected)",
                ])
                handled.append(name)
            } catch {
                logger.error("inbox file not ingested; left in place", metadata: ["file": "\(name)", "error": "\(error)"])
            }
        }
        return handled
    }

    private func uniquePath(_ path: String) -> String {
        var candidate = path
        var counter = 1
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = path + ".\(counter)"
            counter += 1
        }
        return candidate
    }
}
