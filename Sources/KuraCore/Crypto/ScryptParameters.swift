import Foundation

/// How a key file's password is stretched: scrypt (RFC 7914) with N = 2^logN, r, p and a random
/// salt, stored with each key (docs/FORMAT.md, "Key files"). Chosen per key by `calibrated`: a
/// key read from a file on the server should open fast, a key typed by a person may cost a second.
public struct ScryptParameters: Codable, Equatable, Sendable {
    public var logN: Int
    public var r: Int
    public var p: Int
    /// 32 random bytes, base64 in the key file.
    public var salt: [UInt8]

    enum CodingKeys: String, CodingKey { case name, logN = "log_n", r, p, salt }

    /// The fewest iterations a new key gets (8 MiB of memory), whatever the machine.
    public static let minimumLogN = 13
    /// The most a key file may ask for (1 GiB of memory): more is refused before any is allocated.
    public static let maximumLogN = 20
    /// What `key add` aims at by default: the derivation fits in a single-file restore's budget
    /// of 100 ms, which the rest of the restore takes 40–50 ms of on this machine kind (docs/DESIGN.md,
    /// "Encrypted repositories"; 2^14 here, 55 ms, put the median at 90–120 ms).
    public static let defaultTarget: TimeInterval = 0.04

    /// Parameters with a fresh random salt.
    public init(logN: Int, r: Int = 8, p: Int = 1) {
        (self.logN, self.r, self.p, salt) = (logN, r, p, Primitives.randomBytes(32))
    }

    /// Memory scrypt needs: 128 · r · N bytes.
    public var memory: Int { 128 * r << logN }

    /// The largest N (at least 2^13, at most 2^20) whose derivation is expected to take no more
    /// than `target` on this machine: 2^12 is timed (the faster of two runs) and doubled per step.
    public static func calibrated(target: TimeInterval = defaultTarget) -> ScryptParameters {
        var fastest = TimeInterval.infinity
        for _ in 0..<2 {
            let started = DispatchTime.now().uptimeNanoseconds
            _ = Primitives.scrypt(Array("calibration".utf8), salt: [UInt8](repeating: 0, count: 32), logN: 12, count: 32)
            fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        var logN = minimumLogN
        while logN < maximumLogN && fastest * Double(1 << (logN + 1 - 12)) <= target { logN += 1 }
        return ScryptParameters(logN: logN)
    }

    /// Checks parameters read from a key file before anything is allocated for them.
    func validate() throws {
        guard (10...Self.maximumLogN).contains(logN), (1...32).contains(r), (1...16).contains(p),
              memory <= 1 << 30, (16...64).contains(salt.count) else {
            throw KuraError.unsupportedFormat("scrypt parameters log_n \(logN), r \(r), p \(p) (salt \(salt.count) bytes) are outside what Kura accepts")
        }
    }

    /// The 32-byte key that wraps the master key.
    func derive(_ password: [UInt8]) throws -> [UInt8] {
        try validate()
        guard let key = Primitives.scrypt(password, salt: salt, logN: logN, r: UInt64(r), p: UInt64(p), count: 32) else {
            throw KuraError.unsupportedFormat("scrypt refused log_n \(logN), r \(r), p \(p)")
        }
        return key
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard try container.decode(String.self, forKey: .name) == "scrypt" else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: container, debugDescription: "only scrypt is known")
        }
        logN = try container.decode(Int.self, forKey: .logN)
        r = try container.decode(Int.self, forKey: .r)
        p = try container.decode(Int.self, forKey: .p)
        guard let salt = Data(base64Encoded: try container.decode(String.self, forKey: .salt)) else {
            throw DecodingError.dataCorruptedError(forKey: .salt, in: container, debugDescription: "salt is not base64")
        }
        self.salt = [UInt8](salt)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("scrypt", forKey: .name)
        try container.encode(logN, forKey: .logN)
        try container.encode(r, forKey: .r)
        try container.encode(p, forKey: .p)
        try container.encode(Data(salt).base64EncodedString(), forKey: .salt)
    }
}
