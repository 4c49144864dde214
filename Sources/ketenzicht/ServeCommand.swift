import ArgumentParser
import Foundation
import KetenzichtConfig
import KetenzichtDaemon
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: the socket, live ingest, inbox, alerts and dot files.",
        discussion: """
            Flags override the config file; without a config the documented defaults apply (state, \
            socket and graphs under the current directory). SIGTERM/SIGINT stop it cleanly (exit 0), \
            SIGHUP reloads the config (the old one stays when the new one is invalid).
            """
    )

    @Option(name: .long, help: "Config file (YAML).") var config: String?
    @Option(name: .long, help: "Socket path (default ./run/ketenzicht.sock).") var socket: String?
    @Option(name: .long, help: "State directory (default ./state).") var state: String?
    @Option(name: .long, help: "Directory for dot files (default ./graphs).") var graphs: String?
    @Option(name: .long, help: "Inbox directory to watch (default: none).") var inbox: String?
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level: unknown level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ketenzicht")
        let (socket, state, graphs, inbox) = (self.socket, self.state, self.graphs, self.inbox)
        let options = Daemon.Options(configFile: config, version: KetenzichtVersion.string) { configuration in
            if let socket { configuration.socketPath = socket }
            if let state { configuration.stateDirectory = state }
            if let graphs { configuration.graphsDirectory = graphs }
            if let inbox { configuration.inboxDirectory = inbox }
        }
        do { _ = try Daemon.load(options) } catch {
            printError("ketenzicht serve: \(error)")
            throw ExitCode(2)
        }
        let daemon = Daemon(options: options, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("daemon stopped", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
