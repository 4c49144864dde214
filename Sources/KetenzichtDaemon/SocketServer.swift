import CPeerCred
import Foundation
import KetenzichtCore
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix

/// The Unix domain socket of SPEC §6: newline-delimited JSON-RPC 2.0, answers in request order,
/// usable with `socat - UNIX-CONNECT:<path>`. The socket file is 0660 in a 0750 directory; each
/// connection's peer credentials (SO_PEERCRED) decide its access level.
public final class SocketServer: Sendable {
    public let path: String
    private let channel: any Channel
    private let inFlight: InFlightRequests

    public static func start(
        path: String, group: any EventLoopGroup, methods: MethodTable, access: @escaping @Sendable () -> AccessControl,
        maxRequestBytes: Int, logger: Logger
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
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // A client that does not read its answers stops being read from (backpressure),
            // instead of growing the daemon's memory.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 4 << 20))
        let inFlight = InFlightRequests()
        let channel = try await bootstrap.childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: maxRequestBytes)))
                try channel.pipeline.syncOperations.addHandler(RPCConnectionHandler(
                    methods: methods, access: access, maxRequestBytes: maxRequestBytes, inFlight: inFlight, logger: logger))
            }
        }.bind(unixDomainSocketPath: path).get()
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

/// Splits the stream into lines; a line longer than `maxLength` is refused without reading further.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = LineFrame
    let maxLength: Int
    private var scanned = 0

    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let newline = view.dropFirst(scanned).firstIndex(of: 0x0a) {
            let length = newline - view.startIndex
            scanned = 0
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
    case line([UInt8])
}

struct LineTooLong: Error {
    var limit: Int
}

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

/// One connection: checks the peer once, answers requests strictly in order, and streams alert
/// notifications after `alerts.subscribe`.
final class RPCConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = LineFrame
    typealias OutboundOut = ByteBuffer

    private let methods: MethodTable
    private let access: @Sendable () -> AccessControl
    private let maxRequestBytes: Int
    private let inFlight: InFlightRequests
    private let logger: Logger
    /// Event-loop confined: the chain of answers still to write, and the peer.
    private var tail: EventLoopFuture<Void>?
    private var peer: ketenzicht_ucred?
    private var level: AccessLevel = .none
    private var closeCallbacks: [@Sendable () -> Void] = []
    private var inputClosed = false
    private var pending = 0

    init(methods: MethodTable, access: @escaping @Sendable () -> AccessControl, maxRequestBytes: Int, inFlight: InFlightRequests, logger: Logger) {
        self.methods = methods
        self.access = access
        self.maxRequestBytes = maxRequestBytes
        self.inFlight = inFlight
        self.logger = logger
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
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for callback in closeCallbacks { callback() }
        closeCallbacks = []
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .line(let bytes) = unwrapInboundIn(data) else { return }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        pending += 1
        inFlight.begin()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let previous = tail ?? eventLoop.makeSucceededVoidFuture()
        tail = previous.flatMap {
            let (handler, _) = loopBound.value
            let caller = handler.caller(context: loopBound.value.1)
            let methods = handler.methods
            return eventLoop.makeFutureWithTask { () -> String? in
                switch JSONRPC.parse(bytes) {
                case .failure(let parseFailure):
                    return JSONRPC.response(id: parseFailure.id, failure: parseFailure.failure)
                case .success(let request):
                    let result = await methods.handle(request, caller: caller)
                    guard request.id != nil else { return nil }
                    switch result {
                    case .success(let value): return JSONRPC.response(id: request.id, result: value)
                    case .failure(let failure): return JSONRPC.response(id: request.id, failure: failure)
                    }
                }
            }
        }.map { line in
            let (handler, context) = loopBound.value
            if let line { handler.write(line, context: context) }
            handler.pending -= 1
            handler.inFlight.end()
            if handler.inputClosed, handler.pending == 0, handler.closeCallbacks.isEmpty { context.close(promise: nil) }
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
        var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line)
        buffer.writeInteger(UInt8(0x0a))
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.channel.setOption(.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            // Answer what was asked, then close (a subscription keeps the connection open).
            if pending == 0, closeCallbacks.isEmpty { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tooLong = error as? LineTooLong {
            logger.warning("request line too long; connection closed", metadata: ["uid": "\(peer?.uid ?? UInt32.max)", "limit": "\(tooLong.limit)"])
            let failure = JSONRPC.Failure(.requestTooLarge, "request line longer than \(tooLong.limit) bytes; refused without reading further, connection closed")
            write(JSONRPC.response(id: nil, failure: failure), context: context)
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }
}
