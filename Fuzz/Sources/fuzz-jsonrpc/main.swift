import Foundation
import KetenzichtCore
import KetenzichtDaemon

/// One socket request line (SPEC §6) through `JSONRPC.parse`, and the answer the server would
/// write for it: an error for a refused line, or the params echoed back (the `echo` method) and an
/// error naming the method for a parsed one. Every answer must be exactly one line of valid JSON,
/// since the protocol is newline-delimited.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRPC(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let line = Array(UnsafeRawBufferPointer(start: start, count: count))
    switch JSONRPC.parse(line) {
    case .failure(let refused):
        checkAnswer(JSONRPC.response(id: refused.id, failure: refused.failure))
    case .success(let request):
        checkAnswer(JSONRPC.response(id: request.id, result: .object(request.params)))
        checkAnswer(JSONRPC.response(id: request.id, failure: JSONRPC.Failure(.methodNotFound, "unknown method \(request.method)")))
    }
    return 0
}

func checkAnswer(_ answer: String) {
    let bytes = Array(answer.utf8)
    precondition(!bytes.contains(0x0A) && !bytes.contains(0x0D), "an answer spans several lines: \(answer.prefix(200))")
    precondition((try? JSONSerialization.jsonObject(with: Data(bytes))) != nil, "an answer is not valid JSON: \(answer.prefix(200))")
}
