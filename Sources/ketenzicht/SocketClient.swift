import Foundation
import KetenzichtCore
import KetenzichtDaemon

/// A blocking JSON-RPC client for the command line: one request, one answer.
enum SocketClient {
    static func call(socket path: String, method: String, params: [String: JSONValue] = [:]) throws -> JSONValue {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RuntimeError("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard let connected = UnixSocketAddress.with(path: path, { connect(descriptor, $0, $1) }) else {
            throw RuntimeError("socket path too long: \(path)")
        }
        guard connected == 0 else {
            throw RuntimeError("cannot connect to \(path): \(String(cString: strerror(errno))) (is `ketenzicht serve` running? or give --state to read a state directory directly)")
        }
        let request = JSONValue.object(["jsonrpc": .string("2.0"), "id": .number(1), "method": .string(method), "params": .object(params)]).serialized + "\n"
        let payload = Array(request.utf8)
        var sent = 0
        var writeFailure: String?
        while sent < payload.count {
            // No SIGPIPE: a daemon that refuses the connection (too many connections, no access
            // level) closes it at once, and its one line says why; that line is read below.
            let count = payload[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else {
                writeFailure = "write to \(path) failed: \(String(cString: strerror(errno)))"
                break
            }
            sent += count
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !answer.contains(0x0a) {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        guard let newline = answer.firstIndex(of: 0x0a),
              let object = try? JSONSerialization.jsonObject(with: Data(answer[..<newline]), options: [.fragmentsAllowed])
        else { throw RuntimeError(writeFailure ?? "no answer from \(path)") }
        let response = JSONValue(any: object)
        if case .object(let error)? = response["error"] {
            throw RuntimeError("\(method): \(error["message"].map { if case .string(let text) = $0 { return text } else { return $0.serialized } } ?? "error") (code \(error["code"]?.serialized ?? "?"))")
        }
        return response["result"] ?? .null
    }
}
