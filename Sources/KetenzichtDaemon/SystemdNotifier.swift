import Foundation

/// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET ("@" means the abstract namespace).
/// Outside systemd there is no NOTIFY_SOCKET and every call does nothing.
public enum SystemdNotifier {
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let message = Array(state.utf8)
        let sent = UnixSocketAddress.with(path: path) { address, length in
            message.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, address, length) }
        }
        return sent == message.count
    }
}
