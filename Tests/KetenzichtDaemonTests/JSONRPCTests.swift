import Testing
@testable import KetenzichtDaemon

@Suite struct JSONRPCTests {
    static func request(params: String) -> [UInt8] {
        Array(#"{"jsonrpc":"2.0","id":7,"method":"echo","params":\#(params)}"#.utf8)
    }

    /// A line of a million small values would cost the daemon tens of MiB of objects to parse:
    /// it is refused on a scan of its bytes.
    @Test func aRequestWithTooManyValuesIsRefusedBeforeParsing() {
        let wide = "[" + Array(repeating: "1", count: JSONRPC.maxValuesPerRequest + 1).joined(separator: ",") + "]"
        guard case .failure(let failure) = JSONRPC.parse(Self.request(params: #"{"a":\#(wide)}"#)) else {
            Issue.record("a request of \(JSONRPC.maxValuesPerRequest + 1) values was parsed")
            return
        }
        #expect(failure.failure.code == .invalidRequest)
        #expect(failure.failure.message.contains("more than 100000 JSON values"))
    }

    /// Separators inside strings are text, not values: an ingest's `data` may hold any number.
    @Test func separatorsInsideStringsDoNotCount() throws {
        let events = String(repeating: #"{\"id\":\"e\",\"data\":[1,2,{}]}\n"#, count: 20_000)
        let parsed = try JSONRPC.parse(Self.request(params: #"{"data":"\#(events)","note":"a \"quoted, [odd]\" text\\"}"#)).get()
        #expect(parsed.method == "echo")
        guard case .string(let data)? = parsed.params["data"] else {
            Issue.record("data is not a string")
            return
        }
        #expect(data.count > 500_000)
    }

    @Test func aRequestAtTheLimitIsParsed() throws {
        // The envelope counts six (its object, three commas, params and the array), the values
        // one comma fewer than there are of them.
        let values = JSONRPC.maxValuesPerRequest - 5
        let wide = "[" + Array(repeating: "1", count: values).joined(separator: ",") + "]"
        let parsed = try JSONRPC.parse(Self.request(params: #"{"a":\#(wide)}"#)).get()
        guard case .array(let array)? = parsed.params["a"] else {
            Issue.record("a is not an array")
            return
        }
        #expect(array.count == values)
    }
}
