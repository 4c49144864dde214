import Foundation
import Testing

/// The whole loop through the real binary, the real socket and real files: `ketenzicht serve`
/// on a temporary state directory, driven as a coordinator, an MDT and an operator would.
@Suite(.serialized) struct DaemonEndToEndTests {
    @Test func coordinatorMdtAndOperatorThroughTheSocket() throws {
        let workspace = try Workspace()
        try workspace.writeConfig()
        var daemon = try DaemonProcess(workspace)
        let client = try RPCClient(workspace.socket)
        let asOf = "2026-11-01T00:00:00Z"

        // Ingest through the socket.
        let ingested = try client.call("ingest", ["path": Harness.sample])
        #expect(ingested["accepted"] as? Int == 12864)
        #expect(ingested["rejected"] as? Int == 0)

        // The coordinator: where is it stuck?
        let bottlenecks = try client.call("bottlenecks", ["asOf": asOf, "top": 5])
        let listed = bottlenecks["bottlenecks"] as? [[String: Any]] ?? []
        #expect(listed.prefix(2).compactMap { $0["party"] as? String } == ["schuldhulp-kredietbank", "ggz-beukenkamp"])
        #expect(listed.first?["bottleneckScore"] as? Double ?? 0 > 1)
        #expect((try client.call("bottlenecks", ["asOf": asOf, "domain": "ggz"])["bottlenecks"] as? [[String: Any]])?.allSatisfy { $0["domain"] as? String == "ggz" } == true)

        // The MDT: one case.
        let caseID = "c-000001"
        let view = try client.call("case.get", ["id": caseID, "asOf": asOf])
        #expect((view["referrals"] as? [[String: Any]])?.isEmpty == false)
        #expect(view["regisseur"] != nil)
        #expect(try client.request("case.get", ["id": "c-nope"])["error"].map { ($0 as? [String: Any])?["code"] as? Int } == -32002)

        // Every other method answers.
        for method in ["version", "health", "stats", "parties", "regisseurs", "pingpong", "dropped", "structure", "alerts.list"] {
            #expect((try? client.call(method, ["asOf": asOf])) != nil, "\(method) failed")
        }
        #expect((try client.call("party.get", ["id": "ggz-beukenkamp", "asOf": asOf])["metrics"] as? [String: Any])?["backlog"] as? Int == 103)
        let whatIf = try client.call("propagation.whatIf", ["party": "ggz-beukenkamp", "extraWaitDays": 28, "asOf": asOf])
        #expect((whatIf["affectedParties"] as? [Any])?.isEmpty == false)
        let statsText = try client.request("stats", ["format": "prometheus"])["result"] as? String ?? ""
        #expect(statsText.contains("ketenzicht_referrals 3522"))

        // Dot files, each valid for Graphviz.
        for params in [["view": "network"], ["view": "bottlenecks"], ["view": "case", "id": caseID]] {
            let files = try client.call("dot.write", params.merging(["asOf": asOf]) { $1 })["files"] as? [String] ?? []
            #expect(files.first?.hasSuffix(".dot") == true)
            for file in files { #expect(FileManager.default.fileExists(atPath: file)) }
            if let dot = Harness.which("dot"), let file = files.first {
                #expect(Harness.run(dot, ["-Tsvg", "-o", "/dev/null", file]) == 0, "dot -Tsvg failed on \(file)")
            }
        }

        // Errors keep the connection usable.
        #expect(try client.request("nope")["error"].map { ($0 as? [String: Any])?["code"] as? Int } == -32601)
        #expect(try client.request("bottlenecks", ["window": "x"])["error"].map { ($0 as? [String: Any])?["code"] as? Int } == -32602)
        client.send("{not json")
        #expect((client.readLine()?["error"] as? [String: Any])?["code"] as? Int == -32700)
        #expect(try client.call("version")["version"] != nil)

        // An oversized line is refused and that connection closed; the daemon carries on.
        let greedy = try RPCClient(workspace.socket)
        greedy.send(String(repeating: "x", count: 10_000))
        #expect((greedy.readLine()?["error"] as? [String: Any])?["code"] as? Int == -32003)
        #expect(greedy.readLine() == nil)
        #expect(try client.call("health")["status"] as? String == "ok")

        // The inbox: a bad file goes to rejected/ with its report, a good one to processed/.
        let inbox = workspace.path + "/inbox"
        try FileManager.default.copyItem(atPath: Harness.invalidSample, toPath: inbox + "/.partial")
        try FileManager.default.moveItem(atPath: inbox + "/.partial", toPath: inbox + "/invalid.ndjson")
        try Harness.waitFor("the inbox to reject invalid.ndjson") { FileManager.default.fileExists(atPath: inbox + "/rejected/invalid.ndjson.errors.txt") }
        let report = (try? String(contentsOfFile: inbox + "/rejected/invalid.ndjson.errors.txt", encoding: .utf8)) ?? ""
        #expect(report.contains("impossible date 2027-06-31"))
        let extra = #"{"specversion":"1.0","id":"inbox-1","source":"urn:test:inbox","type":"nl.ketenzicht.party.registered","time":"2026-10-01T10:00:00Z","data":{"party":"welzijn-test","name":"Welzijn Test","domain":"welzijn"}}"#
        try (extra + "\n").write(toFile: inbox + "/.extra", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: inbox + "/.extra", toPath: inbox + "/extra.ndjson")
        try Harness.waitFor("the inbox to process extra.ndjson") { FileManager.default.fileExists(atPath: inbox + "/processed/extra.ndjson") }
        #expect(try client.call("party.get", ["id": "welzijn-test"])["domain"] as? String == "welzijn")

        // Alerts: a subscription sees a referral go over its norm, then resolve once it starts.
        let subscriber = try RPCClient(workspace.socket)
        _ = try subscriber.call("alerts.subscribe")
        let stuck = #"{"specversion":"1.0","id":"alert-1","source":"urn:test:alerts","type":"nl.ketenzicht.referral.created","time":"2026-05-01T10:00:00Z","data":{"referral":"r-alert","case":"c-alert","from":"welzijn-test","to":"ggz-beukenkamp"}}"#
        _ = try client.call("ingest", ["data": stuck])
        var firing: [String: Any]?
        try Harness.waitFor("a firing alert for r-alert") {
            while firing == nil, let line = subscriber.readLine() {
                if let params = line["params"] as? [String: Any], (params["labels"] as? [String: Any])?["referral"] as? String == "r-alert" {
                    firing = params
                }
            }
            return firing != nil
        }
        #expect(firing?["status"] as? String == "firing")
        #expect((firing?["labels"] as? [String: Any])?["alertname"] as? String == "ReferralOverNorm")
        let started = #"{"specversion":"1.0","id":"alert-2","source":"urn:test:alerts","type":"nl.ketenzicht.referral.started","time":"2026-11-20T10:00:00Z","data":{"referral":"r-alert"}}"#
        _ = try client.call("ingest", ["data": started])
        var resolved: [String: Any]?
        try Harness.waitFor("the alert for r-alert to resolve") {
            while resolved == nil, let line = subscriber.readLine() {
                if let params = line["params"] as? [String: Any], (params["labels"] as? [String: Any])?["referral"] as? String == "r-alert",
                   params["status"] as? String == "resolved" {
                    resolved = params
                }
            }
            return resolved != nil
        }
        #expect(resolved?["endsAt"] is String)
        let alertLog = (try? String(contentsOfFile: workspace.path + "/state/alerts.jsonl", encoding: .utf8)) ?? ""
        #expect(alertLog.contains("r-alert"))

        // SIGHUP: a broken config is refused and the old one kept; a good one takes effect.
        try workspace.writeConfig(broken: true)
        daemon.signal(SIGHUP)
        try Harness.waitFor("the refused reload in the log") { daemon.logText.contains("config not reloaded") }
        #expect(try client.call("party.get", ["id": "ggz-beukenkamp"])["normDays"] as? Double == 98)
        try workspace.writeConfig(ggzNorm: 70)
        daemon.signal(SIGHUP)
        try Harness.waitFor("the new ggz norm") { try client.call("party.get", ["id": "ggz-beukenkamp"])["normDays"] as? Double == 70 }

        // SIGTERM: exit 0, and a restart has every acknowledged event.
        let before = try client.call("stats")["events"] as? Int
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: workspace.socket))
        daemon = try DaemonProcess(workspace)
        #expect(try RPCClient(workspace.socket).call("stats")["events"] as? Int == before)
        #expect(daemon.stop() == 0)
        #expect(!daemon.logText.contains("111222333"))
    }

    @Test func readLevelCannotIngest() throws {
        guard getuid() == 0, Harness.which("setpriv") != nil else { return }
        let workspace = try Workspace()
        try workspace.writeConfig()
        let daemon = try DaemonProcess(workspace)
        // Another user reaching the socket gets the `read` level of "others"; the CLI is the simplest peer.
        func asNobody(_ request: String) throws -> String {
            try workspace.runAsNobody(request.split(separator: " ").map(String.init))
        }
        let denied = try asNobody("ingest --socket \(workspace.socket) \(Harness.sample)")
        #expect(denied.contains("permission denied"), "got: \(denied)")
        let allowed = try asNobody("bottlenecks --socket \(workspace.socket) --as-of 2026-11-01 --json")
        #expect(allowed.contains("\"bottlenecks\""), "got: \(allowed)")
        try Harness.waitFor("the denial in the log") { daemon.logText.contains("permission denied") && daemon.logText.contains("uid=65534") }
        #expect(daemon.stop() == 0)
    }
}
