import Dispatch
import Foundation
import KetenzichtConfig
import KetenzichtCore
import KetenzichtDaemon
import Logging

/// The method table of a daemon holding a small model (Fuzz/Model/dispatch-model.ndjson: 45 parties,
/// 60 referrals in November 2025), in a state directory of its own that is removed at exit. With
/// data in the model the analyses really run, so params that break their arithmetic show.
let stateDirectory = NSTemporaryDirectory() + "kz-fuzz-dispatch-\(getpid())"
let modelFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Model/dispatch-model.ndjson").standardized.path

let methods: MethodTable = {
    var configuration = Configuration()
    configuration.stateDirectory = stateDirectory
    let state: DaemonState
    do { state = try DaemonState(configuration: configuration, startedAt: Timestamp(millisecondsSinceEpoch: 0)) } catch {
        fatalError("cannot open the state directory \(stateDirectory): \(error)")
    }
    atexit { try? FileManager.default.removeItem(atPath: stateDirectory) }
    let loaded = DispatchSemaphore(value: 0)
    Task {
        do {
            let summary = try await state.ingest(.file(path: modelFile), format: .cloudevents, receivedAt: Timestamp(millisecondsSinceEpoch: 0))
            precondition(summary.accepted > 100, "the dispatch model did not load: \(summary)")
        } catch {
            fatalError("cannot load \(modelFile): \(error)")
        }
        loaded.signal()
    }
    loaded.wait()
    let hooks = MethodTable.Hooks(
        reload: { .failure(MethodTable.ReloadFailure("not in the fuzzer")) },
        shutdown: {},
        alerts: AlertEngine(file: nil, webhook: nil),
        // Dot files are not written: only the params checks before the hook are under test.
        dot: { _, _, _, _ in [] })
    let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    return MethodTable(state: state, logger: logger, version: "fuzz", hooks: hooks)
}()

/// A peer at the socket's default level: every read method is dispatched, anything above is
/// refused (so nothing ingests, reloads or shuts down).
let caller = MethodTable.Caller(uid: 1000, gid: 1000, pid: 1, level: .read, send: { _ in }, onClose: { _ in })

/// One request line as the socket server answers it (`MethodTable.answer`, which
/// SocketServer calls for every line). An answer, when there is one (a notification has none),
/// must be one line of valid JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDispatch(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let line = Array(UnsafeRawBufferPointer(start: start, count: count))
    let done = DispatchSemaphore(value: 0)
    Task {
        if let answer = await methods.answer(line, caller: caller) { checkAnswer(answer) }
        done.signal()
    }
    done.wait()
    return 0
}

func checkAnswer(_ answer: String) {
    let bytes = Array(answer.utf8)
    precondition(!bytes.contains(0x0A) && !bytes.contains(0x0D), "an answer spans several lines: \(answer.prefix(200))")
    precondition((try? JSONSerialization.jsonObject(with: Data(bytes))) != nil, "an answer is not valid JSON: \(answer.prefix(200))")
}
