import Foundation
import KetenzichtConfig
import KetenzichtCore
import KetenzichtDaemon
import Logging
import Testing

/// Socket request lines that crashed the daemon or broke its answers under libFuzzer
/// (Fuzz/README.md: fuzz-jsonrpc, fuzz-rpc-dispatch). Every answer must be one line of valid
/// JSON-RPC, and params that are out of range are refused with -32602 naming the param.
@Suite("Fuzz regressions: socket requests")
struct FuzzRegressionRequestTests {
    /// One line of JSON that parses, with no line break inside (the protocol is newline-delimited).
    static func expectOneJSONLine(_ answer: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!answer.utf8.contains(0x0A) && !answer.utf8.contains(0x0D), "\(answer)", sourceLocation: sourceLocation)
        #expect((try? JSONSerialization.jsonObject(with: Data(answer.utf8))) != nil, "not JSON: \(answer)", sourceLocation: sourceLocation)
    }

    /// A number the answer serialiser scaled by 10^6 before printing: 1e303 became `inf`, which is
    /// not JSON. Echoed as an id, as params (`echo`) and inside an error's id.
    @Test("huge numbers in a request are answered as JSON numbers", arguments: [
        #"{"jsonrpc":"2.0","id":1e303,"method":"version"}"#,
        #"{"jsonrpc":"2.0","id":-1.7976931348623157e308,"method":"echo","params":{"x":[1e303,-2e305,123456789012345.5]}}"#,
        #"{"jsonrpc":"1.0","id":1e303,"method":"version"}"#,
    ])
    func hugeNumbers(_ line: String) throws {
        switch JSONRPC.parse(Array(line.utf8)) {
        case .failure(let refused):
            Self.expectOneJSONLine(JSONRPC.response(id: refused.id, failure: refused.failure))
        case .success(let request):
            Self.expectOneJSONLine(JSONRPC.response(id: request.id, result: .object(request.params)))
            Self.expectOneJSONLine(JSONRPC.response(id: request.id, failure: JSONRPC.Failure(.methodNotFound, request.method)))
        }
        #expect(JSONValue.number(1e303).serialized == "1e+303")
    }

    /// A daemon's method table over a small model: one open referral from km-noord to ggz-oost,
    /// so that the analyses compute window starts and projected dates.
    static func withTable(_ body: (MethodTable) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kz-fuzz-regression-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = Configuration()
        configuration.stateDirectory = directory
        let state = try DaemonState(configuration: configuration, startedAt: try Timestamp(rfc3339: "2026-04-01T00:00:00Z"))
        let events = [
            #"{"specversion":"1.0","id":"p-1","source":"urn:test","type":"nl.ketenzicht.party.registered","time":"2026-01-01T00:00:00Z","data":{"party":"km-noord","name":"KM Noord","domain":"participatie"}}"#,
            #"{"specversion":"1.0","id":"p-2","source":"urn:test","type":"nl.ketenzicht.party.registered","time":"2026-01-01T00:00:00Z","data":{"party":"ggz-oost","name":"GGZ Oost","domain":"ggz","capacityPerWeek":1}}"#,
            #"{"specversion":"1.0","id":"r-1","source":"urn:test","type":"nl.ketenzicht.referral.created","time":"2026-03-02T10:00:00+01:00","data":{"referral":"r-1","case":"c-1","from":"km-noord","to":"ggz-oost"}}"#,
            #"{"specversion":"1.0","id":"a-1","source":"urn:test","type":"nl.ketenzicht.referral.accepted","time":"2026-03-03T10:00:00+01:00","data":{"referral":"r-1"}}"#,
        ]
        let summary = try await state.ingest(.bytes(Array(events.joined(separator: "\n").utf8), origin: "test"), format: .cloudevents, receivedAt: try Timestamp(rfc3339: "2026-04-01T00:00:00Z"))
        #expect(summary.accepted == 4)
        let hooks = MethodTable.Hooks(
            reload: { .failure(MethodTable.ReloadFailure("not in this test")) }, shutdown: {},
            alerts: AlertEngine(file: nil, webhook: nil), dot: { _, _, _, _ in [] })
        let table = MethodTable(state: state, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), version: "test", hooks: hooks)
        try await body(table)
    }

    static let reader = MethodTable.Caller(uid: 1000, gid: 1000, pid: 1, level: .read, send: { _ in }, onClose: { _ in })

    /// Each of these trapped in the daemon: `top` converted to Int unchecked, and a window or a
    /// what-if wait so long that the millisecond arithmetic of a date overflowed Int64.
    @Test("out-of-range params are refused, not trapped on", arguments: [
        (#"{"jsonrpc":"2.0","id":1,"method":"bottlenecks","params":{"top":1e300}}"#, "top"),
        (#"{"jsonrpc":"2.0","id":2,"method":"bottlenecks","params":{"top":2.5}}"#, "top"),
        (#"{"jsonrpc":"2.0","id":3,"method":"bottlenecks","params":{"window":1e12,"asOf":"2026-04-01T00:00:00Z"}}"#, "window"),
        (#"{"jsonrpc":"2.0","id":4,"method":"dropped","params":{"window":1e300}}"#, "window"),
        (#"{"jsonrpc":"2.0","id":5,"method":"propagation.whatIf","params":{"party":"ggz-oost","extraWaitDays":1e12,"asOf":"2026-04-01T00:00:00Z"}}"#, "extraWaitDays"),
        (#"{"jsonrpc":"2.0","id":6,"method":"propagation.whatIf","params":{"party":"ggz-oost","extraWaitDays":-1e300,"asOf":"2026-04-01T00:00:00Z"}}"#, "extraWaitDays"),
    ])
    func outOfRangeParams(_ line: String, param: String) async throws {
        try await Self.withTable { table in
            let request = try JSONRPC.parse(Array(line.utf8)).get()
            let result = await table.handle(request, caller: Self.reader)
            guard case .failure(let failure) = result else {
                Issue.record("\(line): answered \(result)")
                return
            }
            #expect(failure.code == .invalidParams)
            #expect(failure.message.hasPrefix(param), "\(failure.message)")
            Self.expectOneJSONLine(JSONRPC.response(id: request.id, failure: failure))
        }
    }

    /// The largest accepted values still answer.
    @Test("the limits themselves are answered")
    func limitsAnswer() async throws {
        try await Self.withTable { table in
            for line in [
                #"{"jsonrpc":"2.0","id":1,"method":"bottlenecks","params":{"top":0,"window":3652425,"asOf":"2026-04-01T00:00:00Z"}}"#,
                #"{"jsonrpc":"2.0","id":2,"method":"propagation.whatIf","params":{"party":"ggz-oost","extraWaitDays":3652425,"asOf":"2026-04-01T00:00:00Z"}}"#,
                #"{"jsonrpc":"2.0","id":3,"method":"structure","params":{"window":3652425,"asOf":"1900-01-01T00:00:00Z"}}"#,
            ] {
                let request = try JSONRPC.parse(Array(line.utf8)).get()
                let answer = try await table.handle(request, caller: Self.reader).get()
                Self.expectOneJSONLine(JSONRPC.response(id: request.id, result: answer))
            }
        }
    }
}
