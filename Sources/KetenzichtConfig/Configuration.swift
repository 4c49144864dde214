public import KetenzichtCore
import Foundation
import Yams

/// The config file of SPEC §8 (YAML, `version: 1`). Every setting has the default documented in
/// `config/ketenzicht.yaml`; a missing file means all defaults. Unknown keys are errors, so a typo
/// never silently falls back to a default.
public struct Configuration: Sendable, Equatable {
    public static let currentVersion = 1

    /// The state directory: the event store, the quarantine and the pseudonymisation key.
    public var stateDirectory = "./state"
    /// The pseudonymisation key; nil means `<stateDirectory>/pseudonym.key`.
    public var keyFile: String?
    public var unknownParties: ChainModel.UnknownPartyPolicy = .register
    public var pendingHorizonDays: Double = 30
    public var maxLineBytes = 16 << 20
    public var catalog: DomainCatalog = .standard

    /// The daemon's Unix socket (its directory is created 0750, the socket 0660).
    public var socketPath = "./run/ketenzicht.sock"
    /// Where dot files (and SVGs) are written.
    public var graphsDirectory = "./graphs"
    /// A directory watched for files to ingest; nil: no inbox.
    public var inboxDirectory: String?
    public var inboxPollSeconds: Double = 2
    /// The longest request line the socket accepts.
    public var maxRequestBytes = 16 << 20
    /// Connections the socket serves at once; one more is answered with an error line and closed,
    /// so a flood of clients cannot exhaust the daemon's file descriptors or memory.
    public var maxConnections = 256
    /// A request line begun but not finished within this time (a client sending a byte now and
    /// then) is answered with an error and its connection closed. Idle connections between
    /// requests, such as alert subscriptions, are not affected.
    public var requestTimeoutSeconds: Double = 30
    /// A client that leaves more than the write buffer's high-water mark (4 MiB) of answers unread
    /// this long is disconnected: it holds memory that other clients need.
    public var sendTimeoutSeconds: Double = 60
    /// The analysis window when a request gives none.
    public var windowDays: Double = 84
    public var access = AccessPolicy()
    public var alerts = AlertSettings()
    public var graphs = GraphSettings()

    public init() {}

    /// Who may do what on the socket (SPEC §6): users and groups by name or number, per level.
    /// Root and the daemon's own user are always admin; everyone else gets `others`.
    public struct AccessPolicy: Sendable, Equatable {
        public var admin = Principals()
        public var `operator` = Principals()
        public var read = Principals()
        /// The level of every other peer that can open the socket: `read` or `none`.
        public var othersCanRead = true

        public struct Principals: Sendable, Equatable {
            public var users: [String] = []
            public var groups: [String] = []
        }
    }

    public struct AlertSettings: Sendable, Equatable {
        /// Cron syntax (minute hour day-of-month month day-of-week).
        public var schedule = "*/15 * * * *"
        public var timeZone = "Europe/Amsterdam"
        /// JSON-lines file of alert transitions; nil means `<state>/alerts.jsonl`.
        public var file: String?
        /// An Alertmanager-compatible endpoint (`http://host:port/api/v2/alerts`); nil: none.
        public var webhook: String?
    }

    public struct GraphSettings: Sendable, Equatable {
        /// Cron schedule for rewriting network.dot and bottlenecks.dot.
        public var schedule = "0 * * * *"
        /// Quiet time after an ingest before the dot files are rewritten.
        public var debounceSeconds: Double = 10
        public var maxEdges = 300
        public var topBottlenecks = 15
        /// Render an SVG beside each dot file when Graphviz is installed.
        public var svg = true
    }

    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: nil, key: nil, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, line: nil, key: nil, message: "not UTF-8 text")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String = "config") throws(ConfigurationError) -> Configuration {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigurationError(file: file, line: nil, key: nil, message: "empty config: it needs at least `version: \(currentVersion)`")
            }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: file, line: nil, key: nil, message: "not valid YAML: \(error)")
        }
        let reader = NodeReader(file: file)
        return try reader.configuration(root)
    }
}

public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}

/// Walks the YAML node tree, keeping line numbers for messages.
private struct NodeReader {
    let file: String

    func fail(_ node: Node?, _ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node?.mark.map { $0.line }, key: key, message: message)
    }

    func mapping(_ node: Node, _ key: String, allowed: Set<String>?) throws(ConfigurationError) -> [(String, Node)] {
        guard let mapping = node.mapping else { throw fail(node, key, "must be a mapping") }
        var seen = Set<String>()
        var entries: [(String, Node)] = []
        for (keyNode, value) in mapping {
            guard let name = keyNode.string else { throw fail(keyNode, key, "keys must be strings") }
            let path = key.isEmpty ? name : key + "." + name
            if let allowed, !allowed.contains(name) {
                throw fail(keyNode, path, "unknown setting; expected one of \(allowed.sorted().joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw fail(keyNode, path, "given twice") }
            entries.append((name, value))
        }
        return entries
    }

    func string(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw fail(node, key, "must be a non-empty string") }
        return scalar.string
    }

    func number(_ node: Node, _ key: String, positive: Bool = true) throws(ConfigurationError) -> Double {
        guard let value = node.float ?? node.int.map(Double.init), value.isFinite, !positive || value > 0 else {
            throw fail(node, key, "must be a positive number, got \(node.scalar?.string ?? "a non-scalar")")
        }
        return value
    }

    /// A timeout: positive and at most a day, so a typo in minutes cannot switch the guard off.
    func seconds(_ node: Node, _ key: String) throws(ConfigurationError) -> Double {
        let value = try number(node, key)
        guard value <= 86_400 else { throw fail(node, key, "must be at most 86400 seconds (a day), got \(node.scalar?.string ?? "?")") }
        return value
    }

    func wholeNumber(_ node: Node, _ key: String) throws(ConfigurationError) -> Int {
        let value = try number(node, key)
        guard value == value.rounded(), value <= 1_000_000 else { throw fail(node, key, "must be a whole number") }
        return Int(value)
    }

    func strings(_ node: Node, _ key: String) throws(ConfigurationError) -> [String] {
        guard let sequence = node.sequence else { throw fail(node, key, "must be a list") }
        var values: [String] = []
        for item in sequence { values.append(try string(item, key)) }
        return values
    }

    func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool {
        guard let value = node.bool else { throw fail(node, key, "must be true or false, got \(node.scalar?.string ?? "a non-scalar")") }
        return value
    }

    func configuration(_ root: Node) throws(ConfigurationError) -> Configuration {
        var config = Configuration()
        let entries = try mapping(root, "", allowed: ["version", "paths", "ingest", "domains", "zrm", "socket", "access", "alerts", "graphs", "inbox", "analysis"])
        guard let version = entries.first(where: { $0.0 == "version" })?.1 else {
            throw fail(root, "version", "missing; this build reads `version: \(Configuration.currentVersion)`")
        }
        guard version.int == Configuration.currentVersion else {
            throw fail(version, "version", "unsupported version \(version.scalar?.string ?? "?"); this build reads version \(Configuration.currentVersion)")
        }
        var domains = DomainCatalog.standard.domains
        var carriers = DomainCatalog.standard.lifeDomainCarriers
        var crisisNorm = DomainCatalog.standard.crisisNormDays
        var fallback = DomainCatalog.standard.fallbackDomain
        var domainsNode = root
        for (name, node) in entries {
            switch name {
            case "paths":
                for (key, value) in try mapping(node, "paths", allowed: ["state", "keyFile", "socket", "graphs", "inbox"]) {
                    switch key {
                    case "state": config.stateDirectory = try string(value, "paths.state")
                    case "socket": config.socketPath = try string(value, "paths.socket")
                    case "graphs": config.graphsDirectory = try string(value, "paths.graphs")
                    case "inbox": config.inboxDirectory = value.null != nil ? nil : try string(value, "paths.inbox")
                    default: config.keyFile = try string(value, "paths.keyFile")
                    }
                }
            case "socket":
                let settings = ["maxRequestBytes", "maxConnections", "requestTimeoutSeconds", "sendTimeoutSeconds"]
                for (key, value) in try mapping(node, "socket", allowed: Set(settings)) {
                    switch key {
                    case "maxRequestBytes":
                        let bytes = try number(value, "socket.maxRequestBytes")
                        guard bytes >= 1024, bytes == bytes.rounded(), bytes <= Double(1 << 30) else {
                            throw fail(value, "socket.maxRequestBytes", "must be a whole number of bytes from 1024 to 1073741824")
                        }
                        config.maxRequestBytes = Int(bytes)
                    case "maxConnections":
                        let count = try number(value, "socket.maxConnections")
                        guard count == count.rounded(), count <= 65_536 else {
                            throw fail(value, "socket.maxConnections", "must be a whole number from 1 to 65536")
                        }
                        config.maxConnections = Int(count)
                    case "requestTimeoutSeconds":
                        config.requestTimeoutSeconds = try seconds(value, "socket.requestTimeoutSeconds")
                    default:
                        config.sendTimeoutSeconds = try seconds(value, "socket.sendTimeoutSeconds")
                    }
                }
            case "inbox":
                for (_, value) in try mapping(node, "inbox", allowed: ["pollSeconds"]) {
                    config.inboxPollSeconds = try number(value, "inbox.pollSeconds")
                }
            case "analysis":
                for (_, value) in try mapping(node, "analysis", allowed: ["windowDays"]) {
                    config.windowDays = try number(value, "analysis.windowDays")
                }
            case "access":
                for (key, value) in try mapping(node, "access", allowed: ["admin", "operator", "read", "others"]) {
                    if key == "others" {
                        let level = try string(value, "access.others")
                        guard level == "read" || level == "none" else { throw fail(value, "access.others", "must be read or none") }
                        config.access.othersCanRead = level == "read"
                        continue
                    }
                    var principals = Configuration.AccessPolicy.Principals()
                    for (field, list) in try mapping(value, "access." + key, allowed: ["users", "groups"]) {
                        let names = try strings(list, "access.\(key).\(field)")
                        if field == "users" { principals.users = names } else { principals.groups = names }
                    }
                    switch key {
                    case "admin": config.access.admin = principals
                    case "operator": config.access.operator = principals
                    default: config.access.read = principals
                    }
                }
            case "alerts":
                for (key, value) in try mapping(node, "alerts", allowed: ["schedule", "timeZone", "file", "webhook"]) {
                    switch key {
                    case "schedule": config.alerts.schedule = try string(value, "alerts.schedule")
                    case "timeZone": config.alerts.timeZone = try string(value, "alerts.timeZone")
                    case "file": config.alerts.file = try string(value, "alerts.file")
                    default:
                        let url = try string(value, "alerts.webhook")
                        guard url.hasPrefix("http://") else { throw fail(value, "alerts.webhook", "must be an http:// URL (an Alertmanager v2 alerts endpoint)") }
                        config.alerts.webhook = url
                    }
                }
            case "graphs":
                for (key, value) in try mapping(node, "graphs", allowed: ["schedule", "debounceSeconds", "maxEdges", "topBottlenecks", "svg"]) {
                    switch key {
                    case "schedule": config.graphs.schedule = try string(value, "graphs.schedule")
                    case "debounceSeconds": config.graphs.debounceSeconds = try number(value, "graphs.debounceSeconds")
                    case "maxEdges": config.graphs.maxEdges = try wholeNumber(value, "graphs.maxEdges")
                    case "topBottlenecks": config.graphs.topBottlenecks = try wholeNumber(value, "graphs.topBottlenecks")
                    default: config.graphs.svg = try bool(value, "graphs.svg")
                    }
                }
            case "ingest":
                for (key, value) in try mapping(node, "ingest", allowed: ["unknownParties", "pendingHorizonDays", "maxLineBytes"]) {
                    switch key {
                    case "unknownParties":
                        guard let policy = ChainModel.UnknownPartyPolicy(rawValue: try string(value, "ingest.unknownParties")) else {
                            throw fail(value, "ingest.unknownParties", "must be register or reject")
                        }
                        config.unknownParties = policy
                    case "pendingHorizonDays": config.pendingHorizonDays = try number(value, "ingest.pendingHorizonDays")
                    default:
                        let bytes = try number(value, "ingest.maxLineBytes")
                        guard bytes >= 1024, bytes == bytes.rounded(), bytes <= Double(1 << 30) else {
                            throw fail(value, "ingest.maxLineBytes", "must be a whole number of bytes from 1024 to 1073741824")
                        }
                        config.maxLineBytes = Int(bytes)
                    }
                }
            case "domains":
                domainsNode = node
                for (key, value) in try mapping(node, "domains", allowed: ["crisisNormDays", "fallback", "list"]) {
                    switch key {
                    case "crisisNormDays": crisisNorm = try number(value, "domains.crisisNormDays")
                    case "fallback": fallback = try string(value, "domains.fallback")
                    default:
                        for (domainName, settings) in try mapping(value, "domains.list", allowed: nil) {
                            let path = "domains.list." + domainName
                            var domain = domains[domainName] ?? DomainCatalog.PartyDomain(name: domainName, normDays: 56, regieEligible: false, normBasis: "")
                            for (field, fieldValue) in try mapping(settings, path, allowed: ["normDays", "regieEligible", "basis"]) {
                                switch field {
                                case "normDays": domain.normDays = try number(fieldValue, path + ".normDays")
                                case "regieEligible": domain.regieEligible = try bool(fieldValue, path + ".regieEligible")
                                default: domain.normBasis = try string(fieldValue, path + ".basis")
                                }
                            }
                            domains[domainName] = domain
                        }
                    }
                }
            case "zrm":
                for (lifeDomain, value) in try mapping(node, "zrm", allowed: Set(DomainCatalog.zrmLifeDomains)) {
                    carriers[lifeDomain] = try string(value, "zrm." + lifeDomain)
                }
            default:
                break
            }
        }
        do {
            config.catalog = try DomainCatalog(
                domains: domains.values.sorted { $0.name < $1.name },
                lifeDomainCarriers: carriers, crisisNormDays: crisisNorm, fallbackDomain: fallback)
        } catch {
            throw fail(domainsNode, "domains", error.description)
        }
        return config
    }
}
