import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// The inputs libFuzzer found (Tests/Fuzz/Regressions/<harness>/), replayed through the parser
/// they broke, framed as the harness frames them (FuzzInputFraming.swift): each must now end in
/// a clear integrity error or a clean read, never a trap.
@Suite struct FuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions").path

    static func inputs(_ harness: String) throws -> [(name: String, bytes: [UInt8])] {
        let directory = folder + "/" + harness
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { ($0, try read(directory + "/" + $0)) }
    }

    @Test func tarInputsEndInAnErrorOrACleanRead() throws {
        let scratch = Scratch()
        let inputs = try Self.inputs("tar")
        #expect(!inputs.isEmpty)
        for (name, bytes) in inputs {
            var tar = bytes
            TarChecksum.fix(&tar)
            let archive = scratch.sub(name + ".tar.gz")
            try write(tar.withUnsafeBytes { Gzip.compress($0) }, to: archive)
            let error = kuraError { try TarReader(path: archive).forEachMember { _, content in try content { _ in } } }
            #expect(error == nil || error?.exitCode == 12, "\(name): \(String(describing: error))")
        }
    }

    @Test func packInputsAreDamagedTrailers() throws {
        let inputs = try Self.inputs("pack-trailer")
        #expect(!inputs.isEmpty)
        for (name, bytes) in inputs {
            var pack = bytes
            PackDigest.fix(&pack)
            let error = kuraError {
                _ = try PackFormat.trailer(packSize: UInt64(pack.count), name: name, cipher: nil) { offset, count in
                    Array(pack[Int(offset)..<(Int(offset) + count)])
                }
            }
            #expect(error?.exitCode == 12, "\(name): \(String(describing: error))")
        }
    }

    /// kura.toml inputs that made toml++ abort (a table header not starting with a key): each must
    /// now be one configuration problem with its line.
    @Test func configInputsAreProblemsWithALine() throws {
        let inputs = try Self.inputs("config")
        #expect(!inputs.isEmpty)
        for (name, bytes) in inputs {
            let error = kuraError { _ = try ConfigurationLoader.parse(String(decoding: bytes, as: UTF8.self), file: "/x/kura.toml", environment: [:]) }
            guard case .configuration(let problems)? = error else {
                Issue.record("\(name): \(String(describing: error))")
                continue
            }
            #expect(problems.allSatisfy { $0.line != nil }, "\(name): \(problems)")
        }
    }
}
