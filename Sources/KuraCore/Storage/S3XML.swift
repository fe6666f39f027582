/// The little of S3's XML and URL encoding Kura needs: element texts (ListObjectsV2, errors) and
/// RFC 3986 percent-encoding as SigV4 expects it.
enum S3XML {
    /// The texts of every `<name>…</name>` in `xml`, entities decoded.
    static func values(of name: String, in xml: String) -> [String] {
        var result: [String] = []
        var rest = xml[...]
        let open = "<" + name + ">", close = "</" + name + ">"
        while let start = rest.range(of: open), let end = rest[start.upperBound...].range(of: close) {
            result.append(decodeEntities(String(rest[start.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        return result
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Percent-encodes everything but unreserved characters (and `/` when `keepSlash`).
    static func percentEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPad2
            }
        }
        return out
    }
}

private extension String {
    var leftPad2: String { count < 2 ? "0" + self : self }
}
