import Dispatch
import Foundation
public import KetenzichtConfig
public import KetenzichtCore
public import KetenzichtIngest
public import KetenzichtStore
import NIOConcurrencyHelpers

/// The daemon's shared state: one writer owns the `Ledger` (on its own serial queue, so a long
/// ingest never occupies an event loop or the cooperative pool), and readers take the latest
/// published snapshot of the model, which never changes under them.
public final class DaemonState: @unchecked Sendable {
    public struct Snapshot: Sendable {
        public var model: ChainModel
        /// Increases with every published change.
        public var version: Int
    }

    private let writer = BackgroundSerialQueue(name: "ketenzicht.writer")
    /// Touched only on `writer`.
    private let ledger: Ledger
    private let snapshotBox: NIOLockedValueBox<Snapshot>
    private let configurationBox: NIOLockedValueBox<Configuration>
    public let metrics = DaemonMetrics()
    public let startedAt: Timestamp
    /// Called (on the writer queue) after every ingest that changed the model.
    public var onChange: (@Sendable (Snapshot) -> Void)?

    /// A long ingest publishes at most this often; the final state is always published.
    private static let publishInterval: Duration = .milliseconds(500)
    private var lastPublished = ContinuousClock.now
    /// The snapshot replaced by the last publish. Touched only on `writer`.
    private var retired: Snapshot?

    public init(configuration: Configuration, startedAt: Timestamp) throws {
        ledger = try Ledger(stateDirectory: configuration.stateDirectory, settings: Ledger.Settings(configuration))
        snapshotBox = NIOLockedValueBox(Snapshot(model: ledger.model, version: 0))
        configurationBox = NIOLockedValueBox(configuration)
        self.startedAt = startedAt
        ledger.afterCommit = { [unowned self] model in
            let now = ContinuousClock.now
            if now - lastPublished >= Self.publishInterval { publish(model) }
        }
    }

    deinit { writer.stop() }

    public var snapshot: Snapshot { snapshotBox.withLockedValue { $0 } }
    public var configuration: Configuration { configurationBox.withLockedValue { $0 } }
    public var replayIssues: [IngestIssue] { writer.sync { [self] in ledger.replayIssues } }

    private func publish(_ model: ChainModel) {
        lastPublished = ContinuousClock.now
        let (snapshot, replaced) = snapshotBox.withLockedValue { current -> (Snapshot, Snapshot) in
            let replaced = current
            current = Snapshot(model: model, version: current.version + 1)
            return (current, replaced)
        }
        // Freeing a snapshot (the chunks the writer copied since, and the references in its bucket
        // lists) is the writer's job: it keeps the replaced one until the next publish, so that a
        // query still reading it does not become its last holder and pay for it in its latency.
        retired = replaced
        onChange?(snapshot)
    }

    /// Ingests on the writer queue. When this returns, every accepted event is committed and
    /// visible to every later query.
    public func ingest(_ input: IngestInput, format: InputFormat?, receivedAt: Timestamp) async throws -> Ledger.Summary {
        try await withCheckedThrowingContinuation { continuation in
            writer.async { [self] in
                let started = ContinuousClock.now
                do {
                    let summary = try ledger.ingest(input, format: format, receivedAt: receivedAt)
                    if summary.accepted + summary.pending + summary.rejected + summary.released > 0 { publish(ledger.model) }
                    metrics.recordIngest(summary, duration: ContinuousClock.now - started)
                    continuation.resume(returning: summary)
                } catch {
                    // The model may hold events of the failed batch: rebuild the published view from what is committed.
                    publish(ledger.model)
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Applies a new configuration: norms, domains and policies take effect for the next query.
    public func apply(_ configuration: Configuration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            writer.async { [self] in
                ledger.update(catalog: configuration.catalog, unknownParties: configuration.unknownParties, pendingHorizonDays: configuration.pendingHorizonDays)
                configurationBox.withLockedValue { $0 = configuration }
                publish(ledger.model)
                continuation.resume()
            }
        }
    }

    public func storeCounts() throws -> EventStore.Counts { try ledger.store.counts() }

    /// The per-party metrics of one snapshot, asOf and window, computed once: repeated
    /// `bottlenecks` questions on an unchanged snapshot (a dashboard refreshing) cost nothing.
    private struct MetricsKey: Hashable {
        var version: Int
        var asOf: Timestamp
        var days: Double
    }

    private let metricsCache = NIOLockedValueBox<(key: MetricsKey?, metrics: [PartyMetrics])>((nil, []))

    public func metrics(of snapshot: Snapshot, window: AnalysisWindow) -> [PartyMetrics] {
        let key = MetricsKey(version: snapshot.version, asOf: window.asOf, days: window.days)
        if let cached = metricsCache.withLockedValue({ $0.key == key ? $0.metrics : nil }) { return cached }
        let computed = PartyMetrics.compute(snapshot.model, window: window)
        metricsCache.withLockedValue { $0 = (key, computed) }
        return computed
    }

    /// Returns once everything queued on the writer has finished.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            writer.async { continuation.resume() }
        }
    }
}

extension Ledger.Settings {
    public init(_ configuration: Configuration) {
        self.init(
            catalog: configuration.catalog, unknownParties: configuration.unknownParties,
            pendingHorizonDays: configuration.pendingHorizonDays, keyFile: configuration.keyFile,
            maxLineBytes: configuration.maxLineBytes)
    }
}

/// Counters and latencies for `stats` and its Prometheus form.
public final class DaemonMetrics: Sendable {
    private struct State {
        var accepted = 0
        var duplicates = 0
        var rejected = 0
        var pending = 0
        var ingestSeconds = 0.0
        var lastIngestRate: Double?
        var latencies: [String: [Double]] = [:]
        var requests: [String: Int] = [:]
        var errors: [String: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Latencies kept per method, most recent first out, for percentiles.
    private static let window = 2048

    func recordIngest(_ summary: Ledger.Summary, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        state.withLockedValue {
            $0.accepted += summary.accepted
            $0.duplicates += summary.duplicates
            $0.rejected += summary.rejected
            $0.pending += summary.pending
            $0.ingestSeconds += seconds
            let events = summary.accepted + summary.duplicates + summary.rejected + summary.pending
            if seconds > 0, events > 0 { $0.lastIngestRate = Double(events) / seconds }
        }
    }

    func recordRequest(method: String, seconds: Double, failed: Bool) {
        state.withLockedValue {
            $0.requests[method, default: 0] += 1
            if failed { $0.errors[method, default: 0] += 1 }
            var samples = $0.latencies[method, default: []]
            if samples.count >= Self.window { samples.removeFirst(samples.count - Self.window + 1) }
            samples.append(seconds)
            $0.latencies[method] = samples
        }
    }

    struct Summary {
        var accepted, duplicates, rejected, pending: Int
        var ingestSeconds: Double
        var lastIngestRate: Double?
        var requests: [String: Int]
        var errors: [String: Int]
        var latency: [String: (p50: Double, p99: Double, count: Int)]
    }

    func summary() -> Summary {
        state.withLockedValue { state in
            var latency: [String: (p50: Double, p99: Double, count: Int)] = [:]
            for (method, samples) in state.latencies where !samples.isEmpty {
                let sorted = samples.sorted()
                latency[method] = (PartyMetrics.nearestRank(sorted, 0.5)!, PartyMetrics.nearestRank(sorted, 0.99)!, sorted.count)
            }
            return Summary(
                accepted: state.accepted, duplicates: state.duplicates, rejected: state.rejected, pending: state.pending,
                ingestSeconds: state.ingestSeconds, lastIngestRate: state.lastIngestRate,
                requests: state.requests, errors: state.errors, latency: latency)
        }
    }
}
