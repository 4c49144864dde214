import CPeerCred
public import KetenzichtConfig

/// The access levels of SPEC §6, each including the ones below it.
public enum AccessLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case none = 0
    /// Aggregates, dot files, cases by pseudonym.
    case read
    /// + ingest and alert subscriptions.
    case `operator`
    /// + reload and shutdown.
    case admin

    public static func < (lhs: AccessLevel, rhs: AccessLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .none: "none"
        case .read: "read"
        case .operator: "operator"
        case .admin: "admin"
        }
    }
}

/// Maps a peer's uid and gid (SO_PEERCRED) to a level. Names in the config are resolved once, at
/// load; a name that does not exist is an error then, not a silent "nobody".
public struct AccessControl: Sendable {
    struct Principals: Sendable {
        var uids: Set<UInt32> = []
        var gids: Set<UInt32> = []
    }

    private let admin: Principals
    private let operators: Principals
    private let readers: Principals
    private let othersCanRead: Bool
    private let ownUID: UInt32

    public init(_ policy: Configuration.AccessPolicy, ownUID: UInt32) throws {
        func resolve(_ principals: Configuration.AccessPolicy.Principals, level: String) throws -> Principals {
            var resolved = Principals()
            for user in principals.users {
                if let uid = UInt32(user) { resolved.uids.insert(uid); continue }
                let uid = ketenzicht_uid_named(user)
                guard uid >= 0 else { throw AccessError("access.\(level).users: no user named \(user)") }
                resolved.uids.insert(UInt32(uid))
            }
            for group in principals.groups {
                if let gid = UInt32(group) { resolved.gids.insert(gid); continue }
                let gid = ketenzicht_gid_named(group)
                guard gid >= 0 else { throw AccessError("access.\(level).groups: no group named \(group)") }
                resolved.gids.insert(UInt32(gid))
            }
            return resolved
        }
        admin = try resolve(policy.admin, level: "admin")
        operators = try resolve(policy.operator, level: "operator")
        readers = try resolve(policy.read, level: "read")
        othersCanRead = policy.othersCanRead
        self.ownUID = ownUID
    }

    public func level(uid: UInt32, gid: UInt32) -> AccessLevel {
        if uid == 0 || uid == ownUID || matches(admin, uid: uid, gid: gid) { return .admin }
        if matches(operators, uid: uid, gid: gid) { return .operator }
        if matches(readers, uid: uid, gid: gid) || othersCanRead { return .read }
        return .none
    }

    private func matches(_ principals: Principals, uid: UInt32, gid: UInt32) -> Bool {
        if principals.uids.contains(uid) || principals.gids.contains(gid) { return true }
        return principals.gids.contains { ketenzicht_user_in_group(uid, $0) == 1 }
    }
}

public struct AccessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
