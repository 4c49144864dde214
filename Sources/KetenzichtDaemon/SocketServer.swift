import CPeerCred
import Foundation
import KetenzichtConfig
import KetenzichtCore
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix

/// What a connection may hold and how long it may dawdle (config `socket.*`). Read for every new
/// connection, so a reloaded config applies to the connections opened after it.
public struct SocketLimits: Sendable {
    public var maxRequestBytes: Int
    public var maxConnections: Int
    public var requestTimeout: TimeAmount
    public var sendTimeout: TimeAmount

    public init(maxRequestBytes: Int, maxConnections: Int, requestTimeoutSeconds: Double, sendTimeoutSeconds: Double) {
        self.maxRequestBytes = maxRequestBytes
        self.maxConnections = maxConnections
        requestTimeout = .milliseconds(Int64(requestTimeoutSeconds * 1000))
        sendTimeout = .milliseconds(Int64(sendTimeoutSeconds * 1000))
    }

    init(_ configuration: Configuration) {
        self.init(
            maxRequestBytes: configuration.maxRequestBytes, maxConnections: configuration.maxConnections,
            requestTimeoutSeconds: configuration.requestTimeoutSeconds, sendTimeoutSeconds: configuration.sendTimeoutSeconds)
    }

    /// Answers waiting to be read beyond this stop the connection from being read and its next
    /// requests from being answered (backpressure), until the client catches up.
    static let writeBufferHighWaterMark = 4 << 20
}

/// The Unix domain socket of SPEC §6: newline-delimited JSON-RPC 2.0, answers in request order,
/// usable with `socat - UNIX-CONNECT:<path>`. The socket file is 0660 in a 0750 directory; each
/// connection's peer credentials (SO_PEERCRED) decide its access level.
///
/// Hostile or broken clients are contained per connection: at most `maxConnections` at once, a
/// request line may not exceed `maxRequestBytes` nor take longer than `requestTimeout` to arrive,
/// a connection is read only while it takes its answers and has few requests waiting, and one
/// that leaves its answers unread for `sendTimeout` is closed.
public final class SocketServer: Sendable {
    public let path: String
    private let channel: any Channel
    private let inFlight: InFlightRequests

    public static func start(
        path: String, group: any EventLoopGroup, methods: MethodTable, access: @escaping @Sendable () -> AccessControl,
        limits: @escaping @Sendable () -> SocketLimits, logger: Logger
    ) async throws -> SocketServer {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            chmod(directory, 0o750)
        }
        // A stale socket from a crashed run is replaced; a live daemon on it is not.
        if FileManager.default.fileExists(atPath: path) {
            if Self.isListening(path) { throw ServerError("\(path): another daemon is listening on this socket") }
            unlink(path)
        }
        let connections = ConnectionCounter()
        let inFlight = InFlightRequests()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: SocketLimits.writeBufferHighWaterMark))
            .childChannelInitializer { channel in
                let limits = limits()
                guard connections.admit(limit: limits.maxConnections) else {
                    connections.reportRefusals(on: channel.eventLoop) { refused in
                        logger.warning("connections refused: socket.maxConnections reached", metadata: [
                            "maxConnections": "\(limits.maxConnections)", "refused": "\(refused)",
                        ])
                    }
                    let failure = JSONRPC.Failure(.tooManyConnections, "too many connections (socket.maxConnections is \(limits.maxConnections)); try again later")
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler(answer: JSONRPC.response(id: nil, failure: failure)))
                    }
                }
                channel.closeFuture.whenComplete { _ in connections.release() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: limits.maxRequestBytes)))
                    try channel.pipeline.syncOperations.addHandler(RPCConnectionHandler(methods: methods, access: access, limits: limits, inFlight: inFlight, logger: logger))
                }
            }
        let channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
        chmod(path, 0o660)
        return SocketServer(path: path, channel: channel, inFlight: inFlight)
    }

    private init(path: String, channel: any Channel, inFlight: InFlightRequests) {
        self.path = path
        self.channel = channel
        self.inFlight = inFlight
    }

    /// Stops accepting connections, then waits until every request already read has its answer
    /// written: the event loops are shut down right after, and would otherwise cut off the answer
    /// to a `shutdown` request, or to anything still running when SIGTERM came.
    public func close() async {
        try? await channel.close()
        unlink(path)
        await inFlight.drained()
    }

    static func isListening(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { Glibc.close(descriptor) }
        return UnixSocketAddress.with(path: path) { connect(descriptor, $0, $1) == 0 } ?? false
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Counts open connections against `socket.maxConnections`. Refusals are reported at most every
/// ten seconds, with their number, so that a flood of them does not flood the log as well.
final class ConnectionCounter: Sendable {
    private struct State {
        var open = 0
        var unreported = 0
        var lastReport: NIODeadline?
        var reportScheduled = false
    }

    private let state = NIOLockedValueBox(State())
    private static let reportInterval = TimeAmount.seconds(10)

    func admit(limit: Int) -> Bool {
        state.withLockedValue { state in
            guard state.open < limit else {
                state.unreported += 1
                return false
            }
            state.open += 1
            return true
        }
    }

    func release() {
        state.withLockedValue { $0.open -= 1 }
    }

    /// Reports the refusals now when the last report is long enough ago, else once it is.
    func reportRefusals(on eventLoop: any EventLoop, _ report: @escaping @Sendable (Int) -> Void) {
        enum Next { case now(Int), later(TimeAmount), nothing }
        let next: Next = state.withLockedValue { state in
            let now = NIODeadline.now()
            if let last = state.lastReport, now - last < Self.reportInterval {
                guard !state.reportScheduled else { return .nothing }
                state.reportScheduled = true
                return .later(Self.reportInterval - (now - last))
            }
            defer { state.unreported = 0 }
            state.lastReport = now
            state.reportScheduled = false
            return state.unreported > 0 ? .now(state.unreported) : .nothing
        }
        switch next {
        case .now(let count): report(count)
        case .later(let delay):
            eventLoop.scheduleTask(in: delay) { [self] in
                state.withLockedValue { $0.reportScheduled = false; $0.lastReport = nil }
                reportRefusals(on: eventLoop, report)
            }
        case .nothing: break
        }
    }
}

/// A connection beyond `socket.maxConnections`: one error line, then closed.
/// Requests read but not yet answered, over all connections.
final class InFlightRequests: Sendable {
    private let state = NIOLockedValueBox((count: 0, waiters: [CheckedContinuation<Void, Never>]()))

    func begin() { state.withLockedValue { $0.count += 1 } }

    func end() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no request is waiting for its answer.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLockedValue { state -> Bool in
                if state.count == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

final class RefuseConnectionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let answer: String

    init(answer: String) { self.answer = answer }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: answer.utf8.count + 1)
        buffer.writeString(answer)
        buffer.writeInteger(UInt8(0x0a))
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// Splits the stream into lines; a line longer than `maxLength` is refused without reading further.
/// Announces once when a line has begun but not ended, so the connection can time it.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = LineFrame
    let maxLength: Int
    private var scanned = 0
    private var inPartialLine = false

    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let newline = view.dropFirst(scanned).firstIndex(of: 0x0a) {
            let length = newline - view.startIndex
            scanned = 0
            inPartialLine = false
            guard length <= maxLength else { throw LineTooLong(limit: maxLength) }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            var bytes = line.readBytes(length: line.readableBytes) ?? []
            if bytes.last == 0x0d { bytes.removeLast() }
            context.fireChannelRead(Self.wrapInboundOut(.line(bytes)))
            return .continue
        }
        scanned = view.count
        if view.count > maxLength { throw LineTooLong(limit: maxLength) }
        if !view.isEmpty, !inPartialLine {
            inPartialLine = true
            context.fireChannelRead(Self.wrapInboundOut(.partialLine))
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A last request without its newline still counts, as `socat` sends it.
        if buffer.readableBytes > 0 {
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            if bytes.contains(where: { ![0x20, 0x09, 0x0d, 0x0a].contains($0) }) {
                context.fireChannelRead(Self.wrapInboundOut(.line(bytes)))
            }
        }
        return .needMoreData
    }
}

enum LineFrame {
    /// One complete line, without its line end.
    case line([UInt8])
    /// A line has begun and its end has not arrived yet.
    case partialLine
}

struct LineTooLong: Error {
    var limit: Int
}

/// One connection: checks the peer once, answers requests strictly in order, and streams alert
/// notifications after `alerts.subscribe`.
final class RPCConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = LineFrame
    typealias OutboundOut = ByteBuffer

    /// Requests read ahead of their answers, at most: beyond it the connection is not read until
    /// answers catch up, so a client that pipelines without end cannot grow the daemon's memory.
    static let maxQueuedRequests = 32

    private let methods: MethodTable
    private let access: @Sendable () -> AccessControl
    private let limits: SocketLimits
    private let inFlight: InFlightRequests
    private let logger: Logger
    /// Event-loop confined: the chain of answers still to write, and the peer.
    private var tail: EventLoopFuture<Void>?
    private var peer: ketenzicht_ucred?
    private var level: AccessLevel = .none
    private var closeCallbacks: [@Sendable () -> Void] = []
    private var inputClosed = false
    /// Requests read and not yet answered, and their bytes.
    private var pending = 0
    private var pendingBytes = 0
    /// Whether the connection is read from (NIO's autoRead).
    private var reading = true
    /// Set once the connection is being closed on purpose: nothing more is read or answered.
    private var closing = false
    private var inPartialLine = false
    private var partialLineDeadline: Scheduled<Void>?
    private var unreadAnswersDeadline: Scheduled<Void>?
    /// Requests whose turn has come while the client had not yet taken the earlier answers.
    private var waitingForWritable: [EventLoopPromise<Void>] = []

    init(methods: MethodTable, access: @escaping @Sendable () -> AccessControl, limits: SocketLimits, inFlight: InFlightRequests, logger: Logger) {
        self.inFlight = inFlight
        self.methods = methods
        self.access = access
        self.limits = limits
        self.logger = logger
    }

    private var peerMetadata: Logger.Metadata {
        ["uid": "\(peer?.uid ?? UInt32.max)", "gid": "\(peer?.gid ?? UInt32.max)", "pid": "\(peer?.pid ?? -1)"]
    }

    func channelActive(context: ChannelHandlerContext) {
        let provider = context.channel as? any SocketOptionProvider
        let credentials: EventLoopFuture<ketenzicht_ucred> = provider?.unsafeGetSocketOption(
            level: SocketOptionLevel(ketenzicht_sol_socket()), name: SocketOptionName(ketenzicht_so_peercred()))
            ?? context.eventLoop.makeFailedFuture(ServerError("no peer credentials"))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        tail = credentials.map { credentials in
            let (handler, _) = loopBound.value
            handler.peer = credentials
            handler.level = handler.access().level(uid: credentials.uid, gid: credentials.gid)
        }.flatMapErrorThrowing { error in
            let (handler, _) = loopBound.value
            handler.logger.error("cannot read peer credentials; treating the peer as level none", metadata: ["error": "\(error)"])
        }.map {
            let (handler, context) = loopBound.value
            guard handler.level == .none else { return }
            // A peer without a level may not even hold a connection (`access.others: none`).
            handler.logger.warning("permission denied: peer has no access level; connection closed", metadata: handler.peerMetadata)
            let uid = handler.peer.map { "uid \($0.uid)" } ?? "a peer of unknown uid"
            let failure = JSONRPC.Failure(.permissionDenied, "permission denied: \(uid) has no access level on this socket (access.others is none); connection closed")
            handler.answerAndClose(JSONRPC.response(id: nil, failure: failure), context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partialLineDeadline?.cancel()
        unreadAnswersDeadline?.cancel()
        // Waiting requests go on, see the closed channel, and end without doing their work.
        let waiting = waitingForWritable
        waitingForWritable = []
        for promise in waiting { promise.succeed() }
        for callback in closeCallbacks { callback() }
        closeCallbacks = []
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .partialLine:
            inPartialLine = true
            armPartialLineDeadline(context: context)
        case .line(let bytes):
            inPartialLine = false
            partialLineDeadline?.cancel()
            partialLineDeadline = nil
            guard !closing, !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return }
            enqueue(bytes, context: context)
        }
    }

    private func enqueue(_ bytes: [UInt8], context: ChannelHandlerContext) {
        pending += 1
        pendingBytes += bytes.count
        inFlight.begin()
        updateReading(context: context)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let previous = tail ?? eventLoop.makeSucceededVoidFuture()
        tail = previous.flatMap {
            let (handler, context) = loopBound.value
            return handler.whenAnswersAreTaken(context: context)
        }.flatMap { () -> EventLoopFuture<String?> in
            let (handler, context) = loopBound.value
            // The client went away (or is being sent away): its remaining requests are not worked on.
            guard context.channel.isActive, !handler.closing else { return eventLoop.makeSucceededFuture(nil) }
            let caller = handler.caller(context: context)
            let methods = handler.methods
            let answer = eventLoop.makePromise(of: String?.self)
            Task(executorPreference: RequestExecutor.shared) { () -> Void in
                answer.succeed(await methods.answer(bytes, caller: caller))
            }
            return answer.futureResult
        }.map { (line: String?) in
            let (handler, context) = loopBound.value
            if let line, !handler.closing { handler.write(line, context: context) }
            handler.pending -= 1
            handler.pendingBytes -= bytes.count
            handler.updateReading(context: context)
            if handler.inputClosed, handler.pending == 0, handler.closeCallbacks.isEmpty { context.close(promise: nil) }
        }
        // On every outcome, a failed link of the chain included: shutdown waits for this count.
        let inFlight = inFlight
        tail?.whenComplete { _ in inFlight.end() }
    }

    /// Succeeds once the client has taken enough of the earlier answers (below the high-water
    /// mark), so a client that does not read gets no further answers piled up for it.
    private func whenAnswersAreTaken(context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        if context.channel.isWritable || !context.channel.isActive { return context.eventLoop.makeSucceededVoidFuture() }
        let promise = context.eventLoop.makePromise(of: Void.self)
        waitingForWritable.append(promise)
        return promise.futureResult
    }

    /// Reads only while the client takes its answers and has few requests waiting. While not
    /// reading, a begun request line is not timed: the wait is the daemon's doing, not the client's.
    private func updateReading(context: ChannelHandlerContext) {
        let shouldRead = !closing && context.channel.isWritable && pending < Self.maxQueuedRequests && pendingBytes < limits.maxRequestBytes
        guard shouldRead != reading else { return }
        reading = shouldRead
        context.channel.setOption(.autoRead, value: shouldRead).whenFailure { _ in }
        if shouldRead {
            if inPartialLine { armPartialLineDeadline(context: context) }
        } else {
            partialLineDeadline?.cancel()
            partialLineDeadline = nil
        }
    }

    /// The clock of a begun request line starts at its first byte, and a byte now and then does
    /// not reset it: that is what a slow-sending client relies on to hold a connection forever.
    private func armPartialLineDeadline(context: ChannelHandlerContext) {
        guard reading, partialLineDeadline == nil, !closing else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = limits.requestTimeout
        partialLineDeadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.partialLineDeadline = nil
            guard handler.inPartialLine, handler.reading, context.channel.isActive, !handler.closing else { return }
            let seconds = JSONValue.format(Double(timeout.nanoseconds) / 1e9)
            var metadata = handler.peerMetadata
            metadata["requestTimeoutSeconds"] = "\(seconds)"
            handler.logger.warning("request line not completed in time; connection closed", metadata: metadata)
            let failure = JSONRPC.Failure(.requestTimeout, "request line not completed within \(seconds) s (socket.requestTimeoutSeconds); connection closed")
            handler.answerAndClose(JSONRPC.response(id: nil, failure: failure), context: context)
        }
    }

    private func caller(context: ChannelHandlerContext) -> MethodTable.Caller {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        return MethodTable.Caller(
            uid: peer?.uid ?? UInt32.max, gid: peer?.gid ?? UInt32.max, pid: peer?.pid ?? -1, level: level,
            send: { line in
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.write(line, context: context)
                }
            },
            onClose: { callback in
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    if context.channel.isActive { handler.closeCallbacks.append(callback) } else { callback() }
                }
            })
    }

    private func write(_ line: String, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        context.writeAndFlush(wrapOutboundOut(Self.buffer(line, context: context)), promise: nil)
    }

    /// Sends a last line and closes once it is out; nothing the client sends after it is read.
    private func answerAndClose(_ line: String, context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        partialLineDeadline?.cancel()
        partialLineDeadline = nil
        let channel = context.channel
        guard channel.isActive else { return }
        reading = false
        channel.setOption(.autoRead, value: false).whenFailure { _ in }
        context.writeAndFlush(wrapOutboundOut(Self.buffer(line, context: context))).whenComplete { _ in channel.close(promise: nil) }
    }

    private static func buffer(_ line: String, context: ChannelHandlerContext) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line)
        buffer.writeInteger(UInt8(0x0a))
        return buffer
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unreadAnswersDeadline?.cancel()
            unreadAnswersDeadline = nil
            let waiting = waitingForWritable
            waitingForWritable = []
            for promise in waiting { promise.succeed() }
        } else if unreadAnswersDeadline == nil {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let timeout = limits.sendTimeout
            unreadAnswersDeadline = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = loopBound.value
                handler.unreadAnswersDeadline = nil
                guard !context.channel.isWritable, context.channel.isActive else { return }
                var metadata = handler.peerMetadata
                metadata["sendTimeoutSeconds"] = "\(JSONValue.format(Double(timeout.nanoseconds) / 1e9))"
                handler.logger.warning("client leaves its answers unread; connection closed", metadata: metadata)
                handler.closing = true
                context.close(promise: nil)
            }
        }
        updateReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            inPartialLine = false
            partialLineDeadline?.cancel()
            partialLineDeadline = nil
            // Answer what was asked, then close (a subscription keeps the connection open).
            if pending == 0, closeCallbacks.isEmpty { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tooLong = error as? LineTooLong {
            var metadata = peerMetadata
            metadata["limit"] = "\(tooLong.limit)"
            logger.warning("request line too long; connection closed", metadata: metadata)
            let failure = JSONRPC.Failure(.requestTooLarge, "request line longer than \(tooLong.limit) bytes; refused without reading further, connection closed")
            answerAndClose(JSONRPC.response(id: nil, failure: failure), context: context)
        } else if !closing {
            // After a refused line the decoder reports every further byte as an error: the
            // connection is closing already, once its last answer is out.
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }
}

/// Where request tasks run: the global dispatch queue, whose threads grow when some are busy,
/// instead of the cooperative pool's one thread per core. On two cores, a query waiting behind an
/// ingest request's task on that pool had a p99 of 1.7–3 ms under a 10k events/s ingest
/// (Benchmarks/socket-latency.sh).
final class RequestExecutor: TaskExecutor {
    static let shared = RequestExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        DispatchQueue.global().async { job.runSynchronously(on: executor) }
    }
}
