import Foundation

extension JSONEncoder {
    /// Sorted keys, no escaped slashes: stable bytes, so content-addressed names are reproducible.
    static var kura: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
