import Foundation
import KetenzichtConfig
public import KetenzichtCore
import KetenzichtIngest
public import KetenzichtStore
public import Logging

/// The methods of SPEC §6, their levels, and their answers. Analyses run on a snapshot of the
/// model, off the event loops, so a slow query never delays the socket or the writer.
public final class MethodTable: Sendable {
    public struct Caller: Sendable {
        public var uid: UInt32
        public var gid: UInt32
        public var pid: Int32
        public var level: AccessLevel
        /// Sends one line (a notification) on the caller's connection.
        public var send: @Sendable (String) -> Void
        /// Closes the stream of alert notifications when the connection goes.
        public var onClose: @Sendable (@escaping @Sendable () -> Void) -> Void

        public init(
            uid: UInt32, gid: UInt32, pid: Int32, level: AccessLevel,
            send: @escaping @Sendable (String) -> Void,
            onClose: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void
        ) {
            self.uid = uid
            self.gid = gid
            self.pid = pid
            self.level = level
            self.send = send
            self.onClose = onClose
        }
    }

    public static let levels: [String: AccessLevel] = [
        "version": .read, "echo": .read, "health": .read, "stats": .read, "parties": .read, "party.get": .read,
        "bottlenecks": .read, "case.get": .read, "regisseurs": .read, "propagation.whatIf": .read,
        "pingpong": .read, "dropped": .read, "structure": .read, "alerts.list": .read, "dot.write": .read,
        "ingest": .operator, "alerts.subscribe": .operator,
        "config.reload": .admin, "shutdown": .admin,
    ]

    let state: DaemonState
    let logger: Logger
    let version: String
    let hooks: Hooks

    /// What the daemon around the table provides: reload, shutdown, alerts and dot files.
    public struct Hooks: Sendable {
        public var reload: @Sendable () async -> Result<String, ReloadFailure>
        public var shutdown: @Sendable () -> Void
        public var alerts: AlertEngine
        public var dot: @Sendable (_ view: String, _ id: String?, _ snapshot: DaemonState.Snapshot, _ window: AnalysisWindow) throws -> [String]

        public init(
            reload: @escaping @Sendable () async -> Result<String, ReloadFailure>, shutdown: @escaping @Sendable () -> Void,
            alerts: AlertEngine, dot: @escaping @Sendable (String, String?, DaemonState.Snapshot, AnalysisWindow) throws -> [String]
        ) {
            self.reload = reload
            self.shutdown = shutdown
            self.alerts = alerts
            self.dot = dot
        }
    }

    public struct ReloadFailure: Error, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public init(state: DaemonState, logger: Logger, version: String, hooks: Hooks) {
        self.state = state
        self.logger = logger
        self.version = version
        self.hooks = hooks
    }

    /// The answer line to one request line, or nil for a notification: parsed, dispatched
    /// (`handle`) and answered as JSON-RPC. The socket server serves every line through here, and
    /// so does the fuzz target `fuzz-rpc-dispatch`.
    public func answer(_ line: [UInt8], caller: Caller) async -> String? {
        switch await Self.parse(line) {
        case .failure(let parseFailure):
            return JSONRPC.response(id: parseFailure.id, failure: parseFailure.failure)
        case .success(let request):
            let result = await handle(request, caller: caller)
            guard request.id != nil else { return nil }
            switch result {
            case .success(let value): return JSONRPC.response(id: request.id, result: value)
            case .failure(let failure): return JSONRPC.response(id: request.id, failure: failure)
            }
        }
    }

    /// A long line (an `ingest` with its events inline) takes milliseconds to parse: that happens
    /// on a background-priority thread, so that it never holds one of the few cooperative threads
    /// or a core that a short query is waiting for.
    private static func parse(_ line: [UInt8]) async -> Result<JSONRPC.Request, JSONRPC.ParseFailure> {
        guard line.count > 64 << 10 else { return JSONRPC.parse(line) }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: JSONRPC.parse(line)) }
        }
    }

    /// Answers one request; the caller writes the answer in request order.
    public func handle(_ request: JSONRPC.Request, caller: Caller) async -> Result<JSONValue, JSONRPC.Failure> {
        let started = ContinuousClock.now
        let result: Result<JSONValue, JSONRPC.Failure>
        do throws(JSONRPC.Failure) {
            result = .success(try await dispatch(request, caller: caller))
        } catch {
            result = .failure(error)
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let known = Self.levels[request.method] != nil
        state.metrics.recordRequest(method: known ? request.method : "unknown", seconds: seconds, failed: (try? result.get()) == nil)
        return result
    }

    private func dispatch(_ request: JSONRPC.Request, caller: Caller) async throws(JSONRPC.Failure) -> JSONValue {
        guard let required = Self.levels[request.method] else {
            throw JSONRPC.Failure(.methodNotFound, "unknown method \(request.method); methods are \(Self.levels.keys.sorted().joined(separator: ", "))")
        }
        guard caller.level >= required else {
            logger.warning("permission denied", metadata: ["uid": "\(caller.uid)", "pid": "\(caller.pid)", "method": "\(request.method)", "level": "\(caller.level)"])
            throw JSONRPC.Failure(.permissionDenied, "permission denied: \(request.method) needs level \(required), uid \(caller.uid) has \(caller.level)")
        }
        let params = Params(values: request.params)
        switch request.method {
        case "version":
            return .object(["version": .string(version), "spec": .string("SPEC §6"), "formats": .array(InputFormat.allCases.map { .string($0.rawValue) })])
        case "echo":
            // The baseline for latency measurements: a round trip through the socket and the
            // request path, with no work.
            return .object(request.params)
        case "health":
            let snapshot = state.snapshot
            return .object([
                "status": .string("ok"), "startedAt": .time(state.startedAt), "snapshotVersion": .int(snapshot.version),
                "events": .int(snapshot.model.eventCount), "level": .string(caller.level.description),
            ])
        case "stats":
            return try stats(params)
        case "ingest":
            return try await ingest(params, caller: caller)
        case "alerts.list":
            return .object(["alerts": .array(hooks.alerts.firing().map(\.json))])
        case "alerts.subscribe":
            let token = hooks.alerts.subscribe(caller.send)
            caller.onClose { [alerts = hooks.alerts] in alerts.unsubscribe(token) }
            return .object(["subscribed": .bool(true), "firing": .array(hooks.alerts.firing().map(\.json))])
        case "config.reload":
            switch await hooks.reload() {
            case .success(let message): return .object(["reloaded": .bool(true), "message": .string(message)])
            case .failure(let failure): throw JSONRPC.Failure(.invalidParams, "config not reloaded, the old one stays: \(failure.message)")
            }
        case "shutdown":
            hooks.shutdown()
            return .object(["shuttingDown": .bool(true)])
        default:
            return try await analysis(request.method, params)
        }
    }

    private func window(_ params: Params) throws(JSONRPC.Failure) -> AnalysisWindow {
        let days = try params.number("window") ?? state.configuration.windowDays
        guard days > 0, days <= AnalysisWindow.maxDays else {
            throw JSONRPC.Failure(.invalidParams, "window must be a positive number of days, at most \(Int(AnalysisWindow.maxDays)) (10,000 years)")
        }
        return AnalysisWindow(asOf: try params.time("asOf") ?? wallClock(), days: days)
    }

    /// Runs an analysis on the current snapshot, on a global queue.
    private func analysis(_ method: String, _ params: Params) async throws(JSONRPC.Failure) -> JSONValue {
        let window = try window(params)
        let snapshot = state.snapshot
        let model = snapshot.model
        let hooks = self.hooks
        let work: @Sendable () throws(JSONRPC.Failure) -> JSONValue
        switch method {
        case "parties":
            work = { Answers.parties(model) }
        case "party.get":
            let id = try params.requiredString("id")
            work = { () throws(JSONRPC.Failure) in
                guard let answer = Answers.party(model, id: id, window: window) else { throw JSONRPC.Failure(.notFound, "unknown party \(id)") }
                return answer
            }
        case "bottlenecks":
            let top = try params.count("top")
            let domain = try params.string("domain")
            let state = self.state
            work = { Answers.bottlenecks(state.metrics(of: snapshot, window: window), window: window, top: top, domain: domain) }
        case "case.get":
            let id = try params.requiredString("id")
            work = { () throws(JSONRPC.Failure) in
                guard let answer = Answers.caseView(model, id: id, window: window) else { throw JSONRPC.Failure(.notFound, "unknown case \(id)") }
                return answer
            }
        case "regisseurs":
            var flag: Answers.RegieFlag?
            if let text = try params.string("flag") {
                guard let parsed = Answers.RegieFlag(rawValue: text) else {
                    throw JSONRPC.Failure(.invalidParams, "flag must be noRegisseur or zwaartepuntUncovered")
                }
                flag = parsed
            }
            let regieFlag = flag
            work = { Answers.regisseurs(model, window: window, flag: regieFlag) }
        case "propagation.whatIf":
            let party = try params.requiredString("party")
            let change: WhatIfAnswer.Change
            switch (try params.number("extraWaitDays"), try params.number("capacityPerWeek")) {
            case (let days?, nil):
                guard abs(days) <= AnalysisWindow.maxDays else {
                    throw JSONRPC.Failure(.invalidParams, "extraWaitDays must be between -\(Int(AnalysisWindow.maxDays)) and \(Int(AnalysisWindow.maxDays)) days (10,000 years)")
                }
                change = .extraWait(days: days)
            case (nil, let capacity?) where capacity >= 0: change = .capacity(perWeek: capacity)
            default: throw JSONRPC.Failure(.invalidParams, "give exactly one of extraWaitDays and capacityPerWeek (≥ 0)")
            }
            work = { () throws(JSONRPC.Failure) in
                guard let answer = Answers.whatIf(model, window: window, party: party, change: change) else { throw JSONRPC.Failure(.notFound, "unknown party \(party)") }
                return answer
            }
        case "pingpong":
            work = { Answers.pingPong(model, window: window) }
        case "dropped":
            work = { Answers.dropped(model, window: window) }
        case "structure":
            work = { Answers.structure(model, window: window, top: 50) }
        case "dot.write":
            let view = try params.requiredString("view")
            let id = try params.string("id")
            guard ["network", "bottlenecks", "case"].contains(view) else {
                throw JSONRPC.Failure(.invalidParams, "view must be network, bottlenecks or case")
            }
            if view == "case" {
                guard let id else { throw JSONRPC.Failure(.invalidParams, "view case needs the case id") }
                guard model.cases[id] != nil else { throw JSONRPC.Failure(.notFound, "unknown case \(id)") }
            }
            work = { () throws(JSONRPC.Failure) in
                do {
                    let files = try hooks.dot(view, id, snapshot, window)
                    return .object(["files": .array(files.map { .string($0) })])
                } catch {
                    throw JSONRPC.Failure(.internalError, "could not write the dot file: \(error)")
                }
            }
        default:
            throw JSONRPC.Failure(.methodNotFound, "unknown method \(method)")
        }
        // Requests already run in a task, never on an event loop. Only the party list is made right
        // there; every other model query goes to a global queue. `case.get` reads one case, yet on
        // the cooperative pool its p99 under a 10k events/s ingest was 1.7–3 ms against 0.4 ms on
        // the global queue (Benchmarks/socket-latency.sh): the pool's two threads also carry the
        // ingest requests' tasks.
        if Self.lightMethods.contains(method) { return try work() }
        return try await Self.offLoop(work)
    }

    static let lightMethods: Set<String> = ["parties"]

    static func offLoop(_ work: @escaping @Sendable () throws(JSONRPC.Failure) -> JSONValue) async throws(JSONRPC.Failure) -> JSONValue {
        let result: Result<JSONValue, JSONRPC.Failure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(JSONRPC.Failure) { continuation.resume(returning: .success(try work())) } catch { continuation.resume(returning: .failure(error)) }
            }
        }
        return try result.get()
    }

    private func ingest(_ params: Params, caller: Caller) async throws(JSONRPC.Failure) -> JSONValue {
        var format: InputFormat?
        if let text = try params.string("format") {
            guard let parsed = InputFormat(rawValue: text) else {
                throw JSONRPC.Failure(.invalidParams, "format must be one of \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = parsed
        }
        let input: IngestInput
        switch (try params.string("data"), try params.string("path")) {
        case (let data?, nil): input = .bytes(Array(data.utf8), origin: "socket request (uid \(caller.uid))")
        case (nil, let path?):
            guard path.hasPrefix("/") else { throw JSONRPC.Failure(.invalidParams, "path must be absolute (the daemon's working directory is not yours)") }
            guard FileManager.default.isReadableFile(atPath: path) else { throw JSONRPC.Failure(.invalidParams, "path \(path) is not a readable file for the daemon") }
            if let refusal = IngestPathPolicy.refusal(path: path, uid: caller.uid, gid: caller.gid, stateDirectory: state.configuration.stateDirectory) {
                logger.warning("ingest path refused", metadata: ["uid": "\(caller.uid)", "path": "\(path)", "reason": "\(refusal)"])
                throw JSONRPC.Failure(.permissionDenied, refusal)
            }
            input = .file(path: path)
        default: throw JSONRPC.Failure(.invalidParams, "give exactly one of data (the events as text) and path (an absolute file path)")
        }
        do {
            let summary = try await state.ingest(input, format: format, receivedAt: wallClock())
            logger.info("ingest", metadata: [
                "uid": "\(caller.uid)", "origin": "\(input.origin)", "accepted": "\(summary.accepted)",
                "duplicates": "\(summary.duplicates)", "pending": "\(summary.pending)", "rejected": "\(summary.rejected)",
            ])
            return summary.json
        } catch {
            throw JSONRPC.Failure(.ingestFailed, "ingest failed, nothing after the last committed batch was kept: \(error)")
        }
    }

    private func stats(_ params: Params) throws(JSONRPC.Failure) -> JSONValue {
        let snapshot = state.snapshot
        let model = snapshot.model
        let metrics = state.metrics.summary()
        let counts = try? state.storeCounts()
        if try params.string("format") == "prometheus" {
            return .string(Prometheus.render(model: model, counts: counts, metrics: metrics))
        }
        return .object([
            "events": .int(counts?.events ?? model.eventCount), "quarantined": .number(counts.map { Double($0.quarantined) }), "pending": .int(model.pendingCount),
            "parties": .int(model.parties.count), "cases": .int(model.cases.count), "referrals": .int(model.referrals.count),
            "ingested": .object([
                "accepted": .int(metrics.accepted), "duplicates": .int(metrics.duplicates), "rejected": .int(metrics.rejected),
                "pending": .int(metrics.pending), "seconds": .number(metrics.ingestSeconds), "lastRatePerSecond": .number(metrics.lastIngestRate),
            ]),
            "requests": .object(metrics.requests.mapValues { .int($0) }),
            "latencySeconds": .object(metrics.latency.mapValues { .object(["p50": .number($0.p50), "p99": .number($0.p99), "count": .int($0.count)]) }),
            "snapshotVersion": .int(snapshot.version),
        ])
    }
}

extension Ledger.Summary {
    public var json: JSONValue {
        .object([
            "accepted": .int(accepted), "duplicates": .int(duplicates), "pending": .int(pending),
            "rejected": .int(rejected), "released": .int(released),
            "errors": .array(errors.prefix(100).map { .string($0.description) }),
            "warnings": .array(warnings.prefix(100).map { .string($0.description) }),
        ])
    }
}

/// Prometheus text exposition of the same counters as `stats`.
enum Prometheus {
    static func render(model: ChainModel, counts: EventStore.Counts?, metrics: DaemonMetrics.Summary) -> String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ value: Double, type: String = "gauge") {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            lines.append("\(name) \(JSONValue.format(value))")
        }
        gauge("ketenzicht_events", "Events in the store.", Double(counts?.events ?? model.eventCount))
        if let counts { gauge("ketenzicht_quarantined", "Quarantined inputs.", Double(counts.quarantined)) }
        gauge("ketenzicht_pending_events", "Status events waiting for their referral.", Double(model.pendingCount))
        gauge("ketenzicht_parties", "Known parties.", Double(model.parties.count))
        gauge("ketenzicht_cases", "Known cases.", Double(model.cases.count))
        gauge("ketenzicht_referrals", "Known referrals.", Double(model.referrals.count))
        gauge("ketenzicht_ingested_accepted_total", "Events accepted since start.", Double(metrics.accepted), type: "counter")
        gauge("ketenzicht_ingested_duplicates_total", "Duplicate events since start.", Double(metrics.duplicates), type: "counter")
        gauge("ketenzicht_ingested_rejected_total", "Rejected inputs since start.", Double(metrics.rejected), type: "counter")
        lines.append("# HELP ketenzicht_requests_total Socket requests by method.")
        lines.append("# TYPE ketenzicht_requests_total counter")
        for (method, count) in metrics.requests.sorted(by: { $0.key < $1.key }) {
            lines.append("ketenzicht_requests_total{method=\"\(method)\"} \(count)")
        }
        lines.append("# HELP ketenzicht_request_latency_seconds Request latency quantiles over the last 2048 requests per method.")
        lines.append("# TYPE ketenzicht_request_latency_seconds summary")
        for (method, latency) in metrics.latency.sorted(by: { $0.key < $1.key }) {
            lines.append("ketenzicht_request_latency_seconds{method=\"\(method)\",quantile=\"0.5\"} \(latency.p50)")
            lines.append("ketenzicht_request_latency_seconds{method=\"\(method)\",quantile=\"0.99\"} \(latency.p99)")
            lines.append("ketenzicht_request_latency_seconds_count{method=\"\(method)\"} \(latency.count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The wall clock, read only at the edges: analyses take `asOf` as a parameter.
public func wallClock() -> Timestamp {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
}
