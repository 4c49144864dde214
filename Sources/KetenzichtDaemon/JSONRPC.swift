import Foundation
public import KetenzichtCore

/// Newline-delimited JSON-RPC 2.0 (SPEC §6): one request object per line, one response per line.
public enum JSONRPC {
    /// Stable error codes: the JSON-RPC ones, and Ketenzicht's in the server range.
    public enum ErrorCode: Int, Sendable {
        case parseError = -32700
        case invalidRequest = -32600
        case methodNotFound = -32601
        case invalidParams = -32602
        case internalError = -32603
        case permissionDenied = -32001
        case notFound = -32002
        case requestTooLarge = -32003
        case ingestFailed = -32004
        case shuttingDown = -32005
        /// `socket.maxConnections` connections are open already; sent once, then the connection is closed.
        case tooManyConnections = -32006
        /// A request line was begun but not finished within `socket.requestTimeoutSeconds`.
        case requestTimeout = -32007
    }

    public struct Failure: Error, Sendable, Equatable {
        public var code: ErrorCode
        public var message: String
        public var data: JSONValue?

        public init(_ code: ErrorCode, _ message: String, data: JSONValue? = nil) {
            self.code = code
            self.message = message
            self.data = data
        }
    }

    public struct ParseFailure: Error, Sendable {
        public var id: JSONValue?
        public var failure: Failure
    }

    public struct Request: Sendable {
        /// Absent for notifications: those get no response.
        public var id: JSONValue?
        public var method: String
        public var params: [String: JSONValue]
    }

    /// JSON values one request may hold. A request is a small object (events travel inside the
    /// `data` string), but a line of `[1,1,1,…]` up to `socket.maxRequestBytes` would become
    /// millions of objects, some 40 bytes of memory per byte of the line, before any method sees
    /// it. Counted on the raw bytes first, so such a line costs a scan instead.
    public static let maxValuesPerRequest = 100_000

    /// Parses one request line; a failure carries the id when it could be read.
    public static func parse(_ line: [UInt8]) -> Result<Request, ParseFailure> {
        guard holdsAtMost(maxValuesPerRequest, valuesIn: line) else {
            return .failure(ParseFailure(id: nil, failure: Failure(
                .invalidRequest, "request holds more than \(maxValuesPerRequest) JSON values; send events as the data string (or by path)")))
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])
        } catch {
            return .failure(ParseFailure(id: nil, failure: Failure(.parseError, "not valid JSON: send one JSON-RPC request object per line")))
        }
        guard let fields = object as? [String: Any] else {
            return .failure(ParseFailure(id: nil, failure: Failure(.invalidRequest, "a request is a JSON object like {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"version\"}")))
        }
        let id = fields["id"].map(JSONValue.init(any:))
        if let id {
            switch id {
            case .string, .number, .null: break
            default: return .failure(ParseFailure(id: nil, failure: Failure(.invalidRequest, "id must be a string, a number or null")))
            }
        }
        guard fields["jsonrpc"] as? String == "2.0" else {
            return .failure(ParseFailure(id: id, failure: Failure(.invalidRequest, "jsonrpc must be \"2.0\"")))
        }
        guard let method = fields["method"] as? String else {
            return .failure(ParseFailure(id: id, failure: Failure(.invalidRequest, "method must be a string")))
        }
        var params: [String: JSONValue] = [:]
        if let raw = fields["params"] {
            guard case .object(let object) = JSONValue(any: raw) else {
                return .failure(ParseFailure(id: id, failure: Failure(.invalidParams, "params must be an object with named parameters")))
            }
            params = object
        }
        return .success(Request(id: id, method: method, params: params))
    }

    /// Whether `line` has at most `limit` separators and openings (`,` `[` `{`) outside strings,
    /// which bounds the number of values it can hold.
    static func holdsAtMost(_ limit: Int, valuesIn line: [UInt8]) -> Bool {
        line.withUnsafeBufferPointer { bytes in
            var inString = false
            var escaped = false
            var count = 0
            for byte in bytes {
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                } else if byte == UInt8(ascii: "\"") {
                    inString = true
                } else if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                    count += 1
                    if count > limit { return false }
                }
            }
            return true
        }
    }

    public static func response(id: JSONValue?, result: JSONValue) -> String {
        JSONValue.object(["jsonrpc": .string("2.0"), "id": id ?? .null, "result": result]).serialized
    }

    public static func response(id: JSONValue?, failure: Failure) -> String {
        var error: [String: JSONValue] = ["code": .int(failure.code.rawValue), "message": .string(failure.message)]
        if let data = failure.data { error["data"] = data }
        return JSONValue.object(["jsonrpc": .string("2.0"), "id": id ?? .null, "error": .object(error)]).serialized
    }

    public static func notification(method: String, params: JSONValue) -> String {
        JSONValue.object(["jsonrpc": .string("2.0"), "method": .string(method), "params": params]).serialized
    }
}

extension JSONValue {
    /// From JSONSerialization's output. Booleans arrive as NSNumber too; their ObjC type is `c`
    /// (JSON numbers never get that type: integers are `i`/`q`, fractions `d`).
    public init(any value: Any) {
        switch value {
        case is NSNull: self = .null
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { self = .bool(number.boolValue) } else { self = .number(number.doubleValue) }
        case let string as String: self = .string(string)
        case let array as [Any]: self = .array(array.map(JSONValue.init(any:)))
        case let object as [String: Any]: self = .object(object.mapValues(JSONValue.init(any:)))
        default: self = .null
        }
    }
}

/// Typed access to named params, with errors a person can act on.
struct Params {
    let values: [String: JSONValue]

    func string(_ key: String) throws(JSONRPC.Failure) -> String? {
        switch values[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw JSONRPC.Failure(.invalidParams, "\(key) must be a string")
        }
    }

    func requiredString(_ key: String) throws(JSONRPC.Failure) -> String {
        guard let value = try string(key), !value.isEmpty else { throw JSONRPC.Failure(.invalidParams, "\(key) is required") }
        return value
    }

    func number(_ key: String) throws(JSONRPC.Failure) -> Double? {
        switch values[key] {
        case nil, .null?: return nil
        case .number(let value)?: return value
        default: throw JSONRPC.Failure(.invalidParams, "\(key) must be a number")
        }
    }

    /// A whole number ≥ 0, such as `top`.
    func count(_ key: String) throws(JSONRPC.Failure) -> Int? {
        guard let value = try number(key) else { return nil }
        guard value >= 0, let count = Int(exactly: value) else {
            throw JSONRPC.Failure(.invalidParams, "\(key) must be a whole number ≥ 0")
        }
        return count
    }

    func time(_ key: String) throws(JSONRPC.Failure) -> Timestamp? {
        guard let text = try string(key) else { return nil }
        do { return try Timestamp(rfc3339: text) } catch {
            throw JSONRPC.Failure(.invalidParams, "\(key): \(error)")
        }
    }
}
