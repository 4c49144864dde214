import CPeerCred
import Foundation
public import KetenzichtConfig
import KetenzichtCore
import KetenzichtIngest
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
public import ServiceLifecycle
import UnixSignals

/// `ketenzicht serve` (SPEC §6–§8) as a service: binds the socket once the store is loaded,
/// tells systemd READY=1, reloads the config on SIGHUP (keeping the old one when the new one is
/// invalid), evaluates alerts and writes dot files on their schedules and after ingests, watches
/// the inbox, and on SIGTERM/SIGINT or `shutdown` finishes in-flight work and returns.
public final class Daemon: Service, Sendable {
    public struct Options: Sendable {
        public var configFile: String?
        public var overrides: @Sendable (inout Configuration) -> Void
        public var version: String

        public init(configFile: String?, version: String, overrides: @escaping @Sendable (inout Configuration) -> Void) {
            self.configFile = configFile
            self.version = version
            self.overrides = overrides
        }
    }

    private let options: Options
    private let logger: Logger
    private let shutdownRequests: AsyncStream<Void>
    private let requestShutdown: AsyncStream<Void>.Continuation

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
        (shutdownRequests, requestShutdown) = AsyncStream<Void>.makeStream()
    }

    /// Loads and checks a configuration: the file (if any), the flag overrides, and everything
    /// that can only be resolved at run time (user and group names, schedules, time zones).
    public static func load(_ options: Options) throws -> (Configuration, AccessControl, CronSchedule, CronSchedule) {
        var configuration = Configuration()
        if let file = options.configFile { configuration = try Configuration.load(path: file) }
        options.overrides(&configuration)
        let access = try AccessControl(configuration.access, ownUID: getuid())
        let alerts = try CronSchedule(configuration.alerts.schedule, timeZone: configuration.alerts.timeZone)
        let graphs = try CronSchedule(configuration.graphs.schedule, timeZone: configuration.alerts.timeZone)
        return (configuration, access, alerts, graphs)
    }

    public func run() async throws {
        let (configuration, access, alertSchedule, graphSchedule) = try Self.load(options)
        let state = try DaemonState(configuration: configuration, startedAt: wallClock())
        for issue in state.replayIssues { logger.warning("replay", metadata: ["issue": "\(issue)"]) }
        let accessBox = NIOLockedValueBox(access)
        let schedules = NIOLockedValueBox((alerts: alertSchedule, graphs: graphSchedule))
        let alerts = AlertEngine(
            file: configuration.alerts.file ?? configuration.stateDirectory + "/alerts.jsonl",
            webhook: configuration.alerts.webhook.flatMap(Webhook.init(url:)))
        let graphs = GraphOutput(state: state, logger: logger)
        let changes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.onChange = { _ in changes.continuation.yield() }

        let options = self.options
        let logger = self.logger
        let requestShutdown = self.requestShutdown
        let hooks = MethodTable.Hooks(
            reload: { await Self.reload(options, state: state, access: accessBox, schedules: schedules, logger: logger) },
            shutdown: { requestShutdown.yield() },
            alerts: alerts,
            dot: { view, id, snapshot, window in try graphs.write(view: view, id: id, model: snapshot.model, window: window) })
        let methods = MethodTable(state: state, logger: logger, version: options.version, hooks: hooks)
        Self.raiseOpenFileLimit(toFit: configuration.maxConnections, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server: SocketServer
        do {
            server = try await SocketServer.start(
                path: configuration.socketPath, group: group, methods: methods,
                access: { accessBox.withLockedValue { $0 } }, limits: { SocketLimits(state.configuration) }, logger: logger)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let snapshot = state.snapshot.model
        let status = "\(snapshot.eventCount) events, \(snapshot.referrals.count) referrals, \(snapshot.parties.count) parties"
        logger.info("ready", metadata: ["socket": "\(server.path)", "state": "\(configuration.stateDirectory)", "model": "\(status)"])
        SystemdNotifier.notify("READY=1\nSTATUS=serving \(status) on \(server.path)")

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        _ = await Self.reload(options, state: state, access: accessBox, schedules: schedules, logger: logger)
                    }
                }
                tasks.addTask {
                    // After ingests: alerts and the network views, debounced.
                    for await _ in changes.stream {
                        let quiet = state.configuration.graphs.debounceSeconds
                        try? await Task.sleep(for: .milliseconds(Int(max(0.2, quiet) * 1000)))
                        if Task.isCancelled { return }
                        Self.evaluateAlerts(state: state, engine: alerts, logger: logger)
                        Self.inBackground { graphs.writeNetworkViews(window: AnalysisWindow(asOf: wallClock(), days: state.configuration.windowDays)) }
                    }
                }
                tasks.addTask {
                    await Self.onSchedule({ schedules.withLockedValue { $0.alerts } }) { Self.evaluateAlerts(state: state, engine: alerts, logger: logger) }
                }
                tasks.addTask {
                    await Self.onSchedule({ schedules.withLockedValue { $0.graphs } }) {
                        Self.inBackground { graphs.writeNetworkViews(window: AnalysisWindow(asOf: wallClock(), days: state.configuration.windowDays)) }
                    }
                }
                if let inbox = configuration.inboxDirectory {
                    do {
                        let watcher = try InboxWatcher(directory: inbox, state: state, logger: logger)
                        tasks.addTask { await watcher.run(every: configuration.inboxPollSeconds) }
                    } catch {
                        logger.error("inbox not watched", metadata: ["directory": "\(inbox)", "error": "\(error)"])
                    }
                }
                Self.evaluateAlerts(state: state, engine: alerts, logger: logger)
                for await _ in shutdownRequests { break }
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            requestShutdown.yield()
        }
        logger.info("shutting down: closing the socket, finishing in-flight work")
        SystemdNotifier.notify("STOPPING=1")
        await server.close()
        // In-flight ingests run on the writer queue; wait until it is idle so every answer given stands.
        await state.drain()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    static func reload(
        _ options: Options, state: DaemonState, access: NIOLockedValueBox<AccessControl>,
        schedules: NIOLockedValueBox<(alerts: CronSchedule, graphs: CronSchedule)>, logger: Logger
    ) async -> Result<String, MethodTable.ReloadFailure> {
        guard options.configFile != nil else {
            logger.warning("reload requested, but the daemon runs without a config file")
            return .failure(.init("the daemon was started without --config; nothing to reload"))
        }
        do {
            let (configuration, newAccess, alertSchedule, graphSchedule) = try load(options)
            let current = state.configuration
            var unchangeable: [String] = []
            if configuration.stateDirectory != current.stateDirectory { unchangeable.append("paths.state") }
            if configuration.socketPath != current.socketPath { unchangeable.append("paths.socket") }
            if configuration.keyFile != current.keyFile { unchangeable.append("paths.keyFile") }
            await state.apply(configuration)
            access.withLockedValue { $0 = newAccess }
            schedules.withLockedValue { $0 = (alertSchedule, graphSchedule) }
            let note = unchangeable.isEmpty ? "" : "; \(unchangeable.joined(separator: ", ")) take effect after a restart"
            logger.info("config reloaded\(note)", metadata: ["file": "\(options.configFile!)"])
            return .success("config reloaded from \(options.configFile!)\(note)")
        } catch {
            logger.error("config not reloaded; keeping the old one", metadata: ["file": "\(options.configFile!)", "error": "\(error)"])
            return .failure(.init("\(error)"))
        }
    }

    /// Every connection is a file descriptor. The soft limit (often 1024) is raised towards the
    /// hard one, so that `socket.maxConnections` bounds the connections and not a failing accept().
    static func raiseOpenFileLimit(toFit connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        // Beyond the connections: the store, the inbox, dot files, libraries.
        let needed = rlim_t(connections + 256)
        guard limit.rlim_cur < needed else { return }
        limit.rlim_cur = min(needed, limit.rlim_max)
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) != 0 || limit.rlim_cur < needed {
            logger.warning("open-file limit below socket.maxConnections + 256; connections may be refused by the system", metadata: [
                "limit": "\(limit.rlim_cur)", "maxConnections": "\(connections)",
            ])
        }
    }

    private static let regieCache = RegieCache()
    /// Alert evaluation reads the whole model: it runs on its own low-priority thread, away from
    /// the cooperative pool that answers requests.
    private static let alertQueue = DispatchQueue(label: "ketenzicht.alerts", qos: .utility)

    /// Whole-model background work (alerts, dot files) runs here, one job at a time.
    static func inBackground(_ work: @escaping @Sendable () -> Void) {
        alertQueue.async {
            lowerThreadPriority()
            work()
        }
    }

    static func evaluateAlerts(state: DaemonState, engine: AlertEngine, logger: Logger) {
        inBackground {
            let now = wallClock()
            let model = state.snapshot.model
            let started = ContinuousClock.now
            let current = AlertRules.evaluate(
                model, window: AnalysisWindow(asOf: now, days: state.configuration.windowDays),
                regie: regieCache.decisions(model, asOf: now))
            let transitions = engine.update(with: current, at: now)
            logger.info("alerts evaluated", metadata: [
                "firing": "\(current.count)", "changed": "\(transitions.count)", "duration": "\(ContinuousClock.now - started)",
            ])
        }
    }

    private static func lowerThreadPriority() {
        _ = ketenzicht_set_thread_nice(10)
    }

    /// Runs `work` at every match of the (reloadable) schedule until cancelled.
    static func onSchedule(_ schedule: @escaping @Sendable () -> CronSchedule, _ work: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            guard let next = schedule().next(after: Date()) else { return }
            let delay = max(0, next.timeIntervalSinceNow)
            do { try await Task.sleep(for: .milliseconds(Int(delay * 1000) + 5)) } catch { return }
            work()
        }
    }
}

/// The dot files of SPEC §7, written by the daemon.
struct GraphOutput: Sendable {
    let state: DaemonState
    let logger: Logger

    var writer: DotWriter {
        let configuration = state.configuration
        return DotWriter(
            directory: configuration.graphsDirectory,
            dotExecutable: configuration.graphs.svg ? DotWriter.findExecutable("dot") : nil,
            maxEdges: configuration.graphs.maxEdges, top: configuration.graphs.topBottlenecks, logger: logger)
    }

    func write(view: String, id: String?, model: ChainModel, window: AnalysisWindow) throws -> [String] {
        try writer.files(view: view, id: id, model: model, window: window)
    }

    func writeNetworkViews(window: AnalysisWindow) {
        let model = state.snapshot.model
        let metrics = PartyMetrics.compute(model, window: window)
        let writer = self.writer
        for view in [DotWriter.View.network, .bottlenecks] {
            do { _ = try writer.write(view, model: model, window: window, metrics: metrics) } catch {
                logger.error("dot file not written", metadata: ["view": "\(view)", "error": "\(error)"])
            }
        }
    }
}
