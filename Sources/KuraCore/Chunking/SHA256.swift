import Foundation
import CCrypto

/// SHA-256 through OpenSSL's EVP interface, which uses the CPU's SHA extensions.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        // EVP_MD_CTX_new only fails when out of memory.
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added; the hasher is then reset for reuse.
    public func finalize() -> ChunkID {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digest) { buffer in
            _ = EVP_DigestFinal_ex(context, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), nil)
        }
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
        return ChunkID(words: digest)
    }

    /// The digest of one buffer.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> ChunkID {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digest) { out in
            _ = EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, EVP_sha256(), nil)
        }
        return ChunkID(words: digest)
    }

    public static func hash(_ bytes: [UInt8]) -> ChunkID {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// SHA-256 of a whole file, read in 4 MiB blocks.
    static func hash(file path: String) throws -> ChunkID {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open", path) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let got = read(fd, buffer.baseAddress, buffer.count)
            if got < 0 { throw KuraError.posix("cannot read", path) }
            if got == 0 { return hasher.finalize() }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        }
    }
}
