import Crypto
import Foundation
import GRDB
import IOCModel

/// A person with access to this node's API.
public struct User: Sendable, Hashable {
    public var id: String
    public var name: String
    public var role: Role
    public var unit: String?
    public var sector: String?

    public var actor: Actor { Actor(userID: id, role: role, unit: unit, sector: sector) }
}

extension NodeStore {
    /// Adds a user and returns the bearer token, which is shown once: only its SHA-256 is stored.
    public func addUser(name: String, role: Role, unit: String?, sector: String?) throws -> (User, token: String) {
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let token = "ioc_" + Data(secret).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let user = User(
            id: "u-" + RecordID.generate().description.suffix(12), name: name.precomposedStringWithCanonicalMapping,
            role: role, unit: unit, sector: sector)
        try writeSync { tx in
            try tx.db.execute(
                sql: "INSERT INTO user(id, name, role, unit, sector, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [user.id, user.name, role.rawValue, unit, sector, Self.tokenHash(token), now()])
        }
        return (user, token)
    }

    /// The user holding `token`, or nil. Looks up by hash, so timing reveals nothing about tokens.
    public func authenticate(token: String) async throws -> User? {
        guard token.hasPrefix("ioc_"), token.utf8.count < 200 else { return nil }
        let hash = Self.tokenHash(token)
        return try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT id, name, role, unit, sector FROM user WHERE token_hash = ?", arguments: [hash]),
                let role = Role(rawValue: row[2])
            else { return nil }
            return User(id: row[0], name: row[1], role: role, unit: row[3], sector: row[4])
        }
    }

    public func users() throws -> [User] {
        try readSync { db in
            try Row.fetchAll(db, sql: "SELECT id, name, role, unit, sector FROM user ORDER BY created_at").compactMap { row in
                Role(rawValue: row[2]).map { User(id: row[0], name: row[1], role: $0, unit: row[3], sector: row[4]) }
            }
        }
    }

    static func tokenHash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }
}
