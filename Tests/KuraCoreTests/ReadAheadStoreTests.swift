import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Read-ahead for one reader walking an object forward (export from object storage).
@Suite struct ReadAheadStoreTests {
    @Test func forwardReadsAreServedFromOneWindowAndJumpsReadOnlyWhatTheyAsk() throws {
        let scratch = Scratch()
        for store in try ObjectStoreTests.stores(scratch) where !(store is RcloneObjectStore) {
            let bytes = randomBytes(3 << 20, seed: 9)
            try store.write(bytes, as: "data/ab/pack")
            let counting = CountingStore(store)
            let ahead = ReadAheadStore(counting, window: 1 << 20, maxWindows: 2)
            // 64 KiB pieces, front to back: the first is read as asked, the second fetches a
            // window that serves the next 15, and so on.
            var offset = 0
            while offset < bytes.count {
                var piece = [UInt8](repeating: 0, count: 65_536)
                try piece.withUnsafeMutableBytes { try ahead.read("data/ab/pack", at: Int64(offset), into: $0) }
                #expect(piece == Array(bytes[offset..<(offset + 65_536)]), "\(store.location) at \(offset)")
                offset += 65_536
            }
            #expect(counting.rangedReads <= 5, "\(store.location): \(counting.rangedReads) reads for 48 pieces")
            // A jump backwards is read exactly; a delete drops what was kept of the object.
            let before = counting.rangedReads
            var small = [UInt8](repeating: 0, count: 10)
            try small.withUnsafeMutableBytes { try ahead.read("data/ab/pack", at: 5, into: $0) }
            #expect(small == Array(bytes[5..<15]) && counting.rangedReads == before + 1)
            try ahead.delete(["data/ab/pack"])
            try ahead.write([UInt8](repeating: 7, count: 3 << 20), as: "data/ab/pack")
            var after = [UInt8](repeating: 0, count: 10)
            try after.withUnsafeMutableBytes { try ahead.read("data/ab/pack", at: (3 << 20) - 20, into: $0) }
            #expect(after == [UInt8](repeating: 7, count: 10))
        }
    }
}
