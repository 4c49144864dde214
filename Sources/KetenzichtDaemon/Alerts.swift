public import Foundation
public import KetenzichtCore
import NIOConcurrencyHelpers

/// One alert (SPEC §5, "Alerts"): labels identify it (and deduplicate it), it is `firing` from
/// `startsAt` until its condition clears, then `resolved` exactly once.
public struct Alert: Sendable, Equatable {
    public var labels: [String: String]
    public var severity: String
    public var summary: String
    public var startsAt: Timestamp
    public var endsAt: Timestamp?
    public var status: String { endsAt == nil ? "firing" : "resolved" }

    /// A stable identity built from the sorted labels.
    public var key: String { labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",") }

    public var json: JSONValue {
        var labels = self.labels.mapValues { JSONValue.string($0) }
        labels["severity"] = .string(severity)
        return .object([
            "labels": .object(labels), "annotations": .object(["summary": .string(summary)]),
            "status": .string(status), "startsAt": .time(startsAt), "endsAt": .time(endsAt),
        ])
    }
}

/// The alert rules of SPEC §5, evaluated on a snapshot at a moment.
public enum AlertRules {
    /// Ping-pong returns younger than this count as "new".
    public static let newPingPongDays: Double = 14

    public static func evaluate(_ model: ChainModel, window: AnalysisWindow, regie: [RegieDecision]? = nil) -> [Alert] {
        let now = window.asOf
        var alerts: [Alert] = []
        for metrics in PartyMetrics.compute(model, window: window) where metrics.bottleneckScore > 1 {
            alerts.append(Alert(
                labels: ["alertname": "BottleneckOverNorm", "party": metrics.party, "domain": metrics.domain],
                severity: metrics.bottleneckScore >= 2 ? "critical" : "warning",
                summary: "\(metrics.name): \(metrics.reason)", startsAt: now))
        }
        for referral in model.referrals.values where referral.state(asOf: now)?.isOpen == true {
            let age = now.days(since: referral.created)
            let norm = model.normDays(of: referral)
            guard age > norm else { continue }
            alerts.append(Alert(
                labels: ["alertname": "ReferralOverNorm", "case": referral.caseID, "referral": referral.id, "party": referral.to, "domain": model.domain(ofParty: referral.to)],
                severity: "warning",
                summary: "referral \(referral.id) to \(referral.to) open \(Int(age)) days, norm \(Int(norm))", startsAt: now))
        }
        for decision in regie ?? RegieDecision.decideAll(model, asOf: now) {
            if decision.noRegisseur {
                alerts.append(Alert(
                    labels: ["alertname": "NoRegisseur", "case": decision.caseID, "domain": decision.involved.map(\.domain).sorted().joined(separator: "+")],
                    severity: "warning",
                    summary: "case \(decision.caseID): \(decision.involved.count) parties involved and none may hold regie", startsAt: now))
            }
            if decision.zwaartepuntUncovered {
                alerts.append(Alert(
                    labels: ["alertname": "ZwaartepuntUncovered", "case": decision.caseID, "domain": decision.zwaartepunt.joined(separator: "+")],
                    severity: "warning",
                    summary: "case \(decision.caseID): the problems lie in \(decision.zwaartepunt.joined(separator: ", ")) and nobody from there is involved", startsAt: now))
            }
        }
        let recent = AnalysisWindow(asOf: now, days: newPingPongDays)
        for item in PingPongReport.compute(model, window: recent).returns {
            alerts.append(Alert(
                labels: ["alertname": "PingPong", "case": item.caseID, "referral": item.referral, "party": item.from, "domain": model.domain(ofParty: item.from)],
                severity: "info",
                summary: "case \(item.caseID) sent back from \(item.from) to \(item.to) \(Int(item.daysAfter)) days after \(item.returnOf)", startsAt: now))
        }
        for dropped in DroppedReferral.compute(model, window: window) {
            alerts.append(Alert(
                labels: ["alertname": "DroppedReferral", "case": dropped.caseID, "referral": dropped.referral, "party": dropped.to, "domain": model.domain(ofParty: dropped.to)],
                severity: "warning",
                summary: "case \(dropped.caseID): referral \(dropped.referral) \(dropped.step.rawValue) at \(dropped.endedAt) and no new referral within 14 days", startsAt: now))
        }
        return alerts
    }
}

/// Regie decisions kept per case until the case changes: the alert rules ask for every case on
/// every evaluation, and on a large municipality almost none changed since the last one. (A
/// decision as of "now" only changes with time when a case has events timed in the future.)
public final class RegieCache: @unchecked Sendable {
    private var entries: [String: (revision: Int, decision: RegieDecision?)] = [:]
    private let lock = NSLock()

    public init() {}

    public func decisions(_ model: ChainModel, asOf: Timestamp) -> [RegieDecision] {
        lock.lock()
        defer { lock.unlock() }
        var result: [RegieDecision] = []
        for (id, record) in model.cases {
            if let cached = entries[id], cached.revision == record.revision {
                if let decision = cached.decision { result.append(decision) }
                continue
            }
            let decision = RegieDecision.decide(caseID: id, in: model, asOf: asOf).flatMap { $0.involved.isEmpty ? nil : $0 }
            entries[id] = (record.revision, decision)
            if let decision { result.append(decision) }
        }
        return result.sorted { $0.caseID < $1.caseID }
    }
}

/// Keeps alert state and delivers transitions to subscribers, the JSON-lines file and a webhook.
public final class AlertEngine: Sendable {
    private struct State {
        var firing: [String: Alert] = [:]
        var subscribers: [Int: @Sendable (String) -> Void] = [:]
        var nextToken = 0
    }

    private let state = NIOLockedValueBox(State())
    private let file: String?
    private let webhook: Webhook?

    public init(file: String?, webhook: Webhook?) {
        self.file = file
        self.webhook = webhook
    }

    public func firing() -> [Alert] {
        state.withLockedValue { $0.firing.values.sorted { ($0.startsAt, $0.key) < ($1.startsAt, $1.key) } }
    }

    public func subscribe(_ send: @escaping @Sendable (String) -> Void) -> Int {
        state.withLockedValue {
            $0.nextToken += 1
            $0.subscribers[$0.nextToken] = send
            return $0.nextToken
        }
    }

    public func unsubscribe(_ token: Int) {
        _ = state.withLockedValue { $0.subscribers.removeValue(forKey: token) }
    }

    /// Compares the current conditions with what fires, and delivers the transitions.
    @discardableResult
    public func update(with current: [Alert], at now: Timestamp) -> [Alert] {
        let (transitions, subscribers) = state.withLockedValue { state -> ([Alert], [@Sendable (String) -> Void]) in
            var transitions: [Alert] = []
            var seen = Set<String>()
            for alert in current {
                let key = alert.key
                guard seen.insert(key).inserted else { continue }
                if state.firing[key] == nil {
                    state.firing[key] = alert
                    transitions.append(alert)
                }
            }
            for (key, alert) in state.firing where !seen.contains(key) {
                var resolved = alert
                resolved.endsAt = now
                state.firing[key] = nil
                transitions.append(resolved)
            }
            return (transitions.sorted { ($0.status, $0.key) < ($1.status, $1.key) }, Array(state.subscribers.values))
        }
        guard !transitions.isEmpty else { return [] }
        for alert in transitions {
            let line = JSONRPC.notification(method: "alert", params: alert.json)
            for send in subscribers { send(line) }
        }
        if let file { appendLines(transitions.map(\.json.serialized), to: file) }
        webhook?.post(transitions)
        return transitions
    }

    private func appendLines(_ lines: [String], to path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}

/// Posts alerts to an Alertmanager-compatible endpoint (its v2 `POST /api/v2/alerts` JSON shape),
/// fire and forget, on a background queue, with a timeout.
public struct Webhook: Sendable {
    public let host: String
    public let port: Int
    public let path: String

    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count)
        let parts = hostPort.split(separator: ":", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else { return nil }
        self.host = String(host)
        self.port = parts.count == 2 ? Int(parts[1]) ?? 80 : 80
        self.path = path.isEmpty ? "/api/v2/alerts" : String(path)
    }

    public static func body(_ alerts: [Alert]) -> String {
        JSONValue.array(alerts.map { alert in
            var labels = alert.labels.mapValues { JSONValue.string($0) }
            labels["severity"] = .string(alert.severity)
            var fields: [String: JSONValue] = [
                "labels": .object(labels), "annotations": .object(["summary": .string(alert.summary)]),
                "startsAt": .time(alert.startsAt),
            ]
            if let endsAt = alert.endsAt { fields["endsAt"] = .time(endsAt) }
            return .object(fields)
        }).serialized
    }

    func post(_ alerts: [Alert]) {
        let body = Self.body(alerts)
        let request = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let host = self.host
        let port = self.port
        DispatchQueue.global().async {
            _ = HTTPPost.send(request, host: host, port: port, timeoutSeconds: 5)
        }
    }
}

/// A blocking HTTP/1.1 request over a plain TCP socket; returns the status code or nil.
enum HTTPPost {
    static func send(_ request: String, host: String, port: Int, timeoutSeconds: Int) -> Int? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else { return nil }
        defer { freeaddrinfo(info) }
        let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 12 else { return nil }
        return Int(String(decoding: buffer[9..<12], as: UTF8.self))
    }
}

/// A five-field cron schedule (minute hour day-of-month month day-of-week) in a time zone.
public struct CronSchedule: Sendable, Equatable {
    public let expression: String
    let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let anyDay: Bool, anyWeekday: Bool
    public let timeZone: TimeZone

    public init(_ expression: String, timeZone identifier: String) throws {
        guard let zone = TimeZone(identifier: identifier) else { throw CronError("unknown time zone \(identifier)") }
        let fields = expression.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else { throw CronError("cron schedule \"\(expression)\" needs 5 fields: minute hour day-of-month month day-of-week") }
        self.expression = expression
        timeZone = zone
        minutes = try Self.field(fields[0], 0...59, "minute")
        hours = try Self.field(fields[1], 0...23, "hour")
        days = try Self.field(fields[2], 1...31, "day-of-month")
        months = try Self.field(fields[3], 1...12, "month")
        weekdays = Set(try Self.field(fields[4], 0...7, "day-of-week").map { $0 % 7 })
        anyDay = fields[2] == "*"
        anyWeekday = fields[4] == "*"
    }

    static func field(_ text: String, _ range: ClosedRange<Int>, _ name: String) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "/", maxSplits: 1)
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw CronError("\(name): bad step in \(part)") }
                step = parsed
            }
            var low = range.lowerBound, high = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", maxSplits: 1).map { Int($0) }
                guard let first = bounds.first ?? nil, bounds.allSatisfy({ $0 != nil }) else { throw CronError("\(name): cannot read \(part)") }
                low = first
                high = bounds.count == 2 ? bounds[1]! : (pieces.count == 2 ? range.upperBound : first)
            }
            guard range.contains(low), range.contains(high), low <= high else { throw CronError("\(name): \(part) is outside \(range)") }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    /// The first matching minute strictly after `date` (searching at most a year ahead).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var candidate = Date(timeIntervalSince1970: (floor(date.timeIntervalSince1970 / 60) + 1) * 60)
        for _ in 0..<(366 * 24 * 60) {
            let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: candidate)
            let dayMatches: Bool
            let dom = days.contains(parts.day!), dow = weekdays.contains(parts.weekday! - 1)
            if anyDay && anyWeekday { dayMatches = true } else if anyDay { dayMatches = dow } else if anyWeekday { dayMatches = dom } else { dayMatches = dom || dow }
            if minutes.contains(parts.minute!), hours.contains(parts.hour!), months.contains(parts.month!), dayMatches {
                return candidate
            }
            candidate += 60
        }
        return nil
    }
}

public struct CronError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
