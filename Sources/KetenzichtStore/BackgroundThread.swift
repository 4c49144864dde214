import Foundation

/// Ingest and replay compete with queries for two cores; queries should win. Their long-running
/// work (decoding, the model's writer) runs on threads of its own at nice +5, so that the kernel
/// preempts it when a query's thread wakes, and a query answered during a large ingest keeps its
/// latency. Dedicated threads, because lowering a shared pool thread's priority cannot be undone
/// without privileges and would slow whatever runs on it next.
public enum BackgroundThread {
    public static let niceness: Int32 = 5

    /// Starts `body` on a new thread at background priority.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        // A `Thread` keeps its closure as long as the Thread object lives; what `body` captured (a
        // store, a model) is let go as soon as it returns instead.
        let job = Job(body)
        let thread = Thread {
            lowerCurrentThreadPriority()
            job.run()
        }
        thread.name = name
        // The decoders need no deep stack, but hostile input must never find a smaller one than
        // the pool threads they ran on before.
        thread.stackSize = 8 << 20
        thread.start()
    }

    private final class Job: @unchecked Sendable {
        private var body: (@Sendable () -> Void)?
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }

        /// Runs on the new thread only, once.
        func run() {
            let body = self.body
            self.body = nil
            body?()
        }
    }

    /// On Linux a nice value belongs to the thread, and `who = 0` names the calling one.
    public static func lowerCurrentThreadPriority() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
    }
}

/// A serial queue on one dedicated background-priority thread: the daemon's single writer.
public final class BackgroundSerialQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopped = false

    public init(name: String) {
        BackgroundThread.start(name: name) { [self] in
            while let job = next() { job() }
        }
    }

    private func next() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !stopped { condition.wait() }
        return jobs.isEmpty ? nil : jobs.removeFirst()
    }

    public func async(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    public func sync<Result: Sendable>(_ body: @escaping @Sendable () -> Result) -> Result {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<Result>()
        async {
            box.value = body()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    /// Lets the thread finish the jobs already queued and end.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private final class ResultBox<Value>: @unchecked Sendable {
        var value: Value?
    }
}
