// Socket latency and ingest load for docs/benchmarks.md (issue 4): a plain client, no packages.
//
//   swiftc -O Benchmarks/latency/socket-latency.swift -o /tmp/socket-latency
//   socket-latency latency SOCKET METHOD 'PARAMS-JSON' COUNT [IDS-FILE]
//       COUNT sequential round trips; with IDS-FILE, "{id}" in PARAMS-JSON cycles through its lines.
//       Prints one JSON line: p50, p99, mean, max in microseconds.
//   socket-latency load SOCKET NDJSON-FILE EVENTS-PER-SECOND SECONDS
//       Ingests the file's lines through `ingest` in batches of 1/10 s, at the given rate, with
//       sources, referral and case ids renamed so they never collide with what is loaded.
import Foundation

func connectSocket(_ path: String) -> Int32 {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    precondition(result == 0, "cannot connect to \(path)")
    return descriptor
}

final class LineClient {
    let descriptor: Int32
    var buffer: [UInt8] = []
    init(_ path: String) { descriptor = connectSocket(path) }

    func roundTrip(_ line: String) -> [UInt8] {
        var bytes = Array(line.utf8)
        bytes.append(0x0a)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            precondition(count > 0)
            sent += count
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let answer = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return answer
            }
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            precondition(count > 0, "connection closed")
            buffer += chunk[0..<count]
        }
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[max(0, min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}

let arguments = CommandLine.arguments
switch arguments.count > 1 ? arguments[1] : "" {
case "latency":
    let (path, method, params, count) = (arguments[2], arguments[3], arguments[4], Int(arguments[5])!)
    let ids = arguments.count > 6 ? (try! String(contentsOfFile: arguments[6], encoding: .utf8)).split(separator: "\n").map(String.init) : []
    let client = LineClient(path)
    var samples: [Double] = []
    var errors = 0
    for index in 0..<(count + count / 10) {
        let body = ids.isEmpty ? params : params.replacingOccurrences(of: "{id}", with: ids[index % ids.count])
        let request = "{\"jsonrpc\":\"2.0\",\"id\":\(index),\"method\":\"\(method)\",\"params\":\(body)}"
        let started = DispatchTime.now().uptimeNanoseconds
        let answer = client.roundTrip(request)
        let micros = Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
        if answer.starts(with: Array("{\"error\"".utf8)) { errors += 1 }
        if index >= count / 10 { samples.append(micros) }  // the first tenth warms up
    }
    samples.sort()
    let mean = samples.reduce(0, +) / Double(samples.count)
    print("{\"method\":\"\(method)\",\"count\":\(samples.count),\"errors\":\(errors),\"p50Micros\":\(Int(percentile(samples, 0.5))),\"p99Micros\":\(Int(percentile(samples, 0.99))),\"meanMicros\":\(Int(mean)),\"maxMicros\":\(Int(samples.last!))}")
case "load":
    let (path, file, rate, seconds) = (arguments[2], arguments[3], Int(arguments[4])!, Double(arguments[5])!)
    let lines = (try! String(contentsOfFile: file, encoding: .utf8)).split(separator: "\n").map { line in
        line.replacingOccurrences(of: "\"source\":\"urn:", with: "\"source\":\"urn:load:")
            .replacingOccurrences(of: "\"r-", with: "\"Lr-").replacingOccurrences(of: "\"c-", with: "\"Lc-")
    }
    let client = LineClient(path)
    let perTick = max(1, rate / 10)
    var offset = 0
    var sent = 0
    let start = Date()
    var tick = 0
    while Date().timeIntervalSince(start) < seconds, offset < lines.count {
        let batch = lines[offset..<min(lines.count, offset + perTick)].joined(separator: "\n")
        offset += perTick
        let data = String(data: try! JSONSerialization.data(withJSONObject: [batch], options: [.fragmentsAllowed]), encoding: .utf8)!.dropFirst().dropLast()
        _ = client.roundTrip("{\"jsonrpc\":\"2.0\",\"id\":\(tick),\"method\":\"ingest\",\"params\":{\"format\":\"cloudevents\",\"data\":\(data)}}")
        sent += min(perTick, lines.count - (offset - perTick))
        tick += 1
        let due = start.addingTimeInterval(Double(tick) / 10)
        let wait = due.timeIntervalSinceNow
        if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
    }
    let elapsed = Date().timeIntervalSince(start)
    print("{\"ingestedEvents\":\(sent),\"seconds\":\(String(format: "%.1f", elapsed)),\"eventsPerSecond\":\(Int(Double(sent) / elapsed))}")
default:
    print("usage: socket-latency latency SOCKET METHOD PARAMS COUNT [IDS] | load SOCKET FILE RATE SECONDS")
    exit(2)
}
