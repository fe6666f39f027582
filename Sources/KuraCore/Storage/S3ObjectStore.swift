import CKuraCurl
import Foundation

/// A repository in an S3 bucket (any S3-compatible service), through libcurl with AWS SigV4
/// signing (`CURLOPT_AWS_SIGV4`). Objects are `<prefix>/<name>`; a PUT is atomic, so an object is
/// visible only once complete. Path-style URLs (`https://host/bucket/key`) unless
/// `virtualHost`. Handles are pooled, so connections are reused across requests and threads.
public final class S3ObjectStore: ObjectStore, @unchecked Sendable {
    /// Concurrent uploads of a backup unless `KURA_S3_CONNECTIONS` says otherwise (docs/BENCHMARKS.md).
    public static let defaultConnections = 4
    public let location: String
    public let parallelWrites: Int
    private let endpoint: URL
    private let bucket: String
    private let prefix: String
    private let region: String
    private let virtualHost: Bool
    private let credentials: S3Credentials
    private let retry: RetryPolicy
    private let lock = NSLock()
    private var idle: [UnsafeMutableRawPointer] = []

    public init(_ target: S3Location, credentials: S3Credentials, connections: Int = defaultConnections,
                retry: RetryPolicy = .standard()) {
        kura_curl_global_init()
        endpoint = target.endpoint
        bucket = target.bucket
        prefix = target.prefix
        region = target.region
        virtualHost = target.virtualHost
        self.credentials = credentials
        self.retry = retry
        parallelWrites = max(1, min(connections, 32))
        location = target.description
    }

    deinit { for handle in idle { kura_curl_free(handle) } }

    // MARK: ObjectStore

    public func list(_ folder: String) throws -> [String] {
        let folderKey = folder.isEmpty ? (prefix.isEmpty ? "" : prefix + "/") : key(folder) + "/"
        var names: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", folderKey), ("delimiter", "/")]
            if let token { query.append(("continuation-token", token)) }
            let response = try request("GET", key: nil, query: query)
            try response.expect([200], object: folder)
            let xml = String(decoding: response.body, as: UTF8.self)
            for key in S3XML.values(of: "Key", in: xml) + S3XML.values(of: "Prefix", in: S3XML.values(of: "CommonPrefixes", in: xml).joined()) {
                let name = key.dropFirst(folderKey.count).split(separator: "/").first.map(String.init) ?? ""
                if key.hasPrefix(folderKey), !name.isEmpty { names.append(name) }
            }
            token = S3XML.values(of: "IsTruncated", in: xml).first == "true" ? S3XML.values(of: "NextContinuationToken", in: xml).first : nil
        } while token != nil
        return Array(Set(names)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public func size(of name: String) throws -> Int64? {
        let response = try request("HEAD", key: key(name))
        if response.status == 404 { return nil }
        try response.expect([200], object: name)
        return response.contentLength
    }

    public func read(_ name: String, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var filled = 0
        let response = try request("GET", key: key(name), headers: ["Range: bytes=\(offset)-\(offset + Int64(buffer.count) - 1)"],
                                   restart: { filled = 0 }) { data in
            let take = min(data.count, buffer.count - filled)
            if take > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + take)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: data[0..<take]))
            }
            filled += take
            return true
        }
        if response.status == 404 { throw KuraError.io(operation: "cannot open", path: location + "/" + name, errno: ENOENT) }
        if response.status == 416 { throw KuraError.integrity(.fileTruncated(path: location + "/" + name, wanted: buffer.count, offset: offset)) }
        try response.expect([200, 206], object: name)
        guard filled == buffer.count else {
            throw KuraError.integrity(.fileTruncated(path: location + "/" + name, wanted: buffer.count, offset: offset))
        }
    }

    public func read(_ name: String, limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var tooLarge = false
        let response = try request("GET", key: key(name), restart: { bytes = []; tooLarge = false }) { data in
            guard bytes.count + data.count <= limit else { tooLarge = true; return false }
            bytes.append(contentsOf: data)
            return true
        }
        if tooLarge { throw KuraError.integrity(.fileTooLarge(path: location + "/" + name, size: Int64(bytes.count), limit: limit)) }
        if response.status == 404 && response.errorCode != "NoSuchBucket" {
            throw KuraError.io(operation: "cannot open", path: location + "/" + name, errno: ENOENT)
        }
        try response.expect([200], object: name)
        return bytes
    }

    public func write(_ bytes: [UInt8], as name: String) throws {
        try bytes.withUnsafeBytes { raw in
            // fmemopen needs a non-empty buffer; an empty object is a PUT without body.
            var one: UInt8 = 0
            let file = raw.count > 0 ? fmemopen(UnsafeMutableRawPointer(mutating: raw.baseAddress), raw.count, "rb")
                                     : fmemopen(&one, 1, "rb")
            guard let file else { throw KuraError.posix("cannot upload", name) }
            defer { fclose(file) }
            FaultInjection.step()
            try put(name, file: file, length: Int64(raw.count))
        }
    }

    /// An upload: durable once it returns, the local file needs no sync.
    public var publishesTheFileItself: Bool { false }

    public func publish(file path: String, as name: String) throws {
        guard let file = fopen(path, "rb") else { throw KuraError.posix("cannot open", path) }
        defer { fclose(file) }
        var info = stat()
        guard fstat(fileno(file), &info) == 0 else { throw KuraError.posix("cannot stat", path) }
        FaultInjection.step()
        try put(name, file: file, length: Int64(info.st_size))
        unlink(path)
    }

    public func delete(_ names: [String]) throws {
        for name in names {
            FaultInjection.step()
            let response = try request("DELETE", key: key(name))
            try response.expect([200, 204, 404], object: name)
        }
    }

    // MARK: Requests

    private func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "/" + name }

    private func put(_ name: String, file: UnsafeMutablePointer<FILE>, length: Int64) throws {
        let response = try request("PUT", key: key(name), upload: (file, length))
        try response.expect([200, 201, 204], object: name)
    }

    struct Response {
        var status: Int
        var contentLength: Int64
        var body: [UInt8]
        let location: String

        /// Throws one line naming the object and the HTTP status unless it is one of `expected`.
        func expect(_ expected: [Int], object: String) throws {
            guard !expected.contains(status) else { return }
            throw KuraError.storage(location: location, object: object, status: status, code: errorCode)
        }

        /// The `<Code>` of an S3 error reply (`NoSuchKey`, `NoSuchBucket`, `AccessDenied`, …).
        var errorCode: String? { S3XML.values(of: "Code", in: String(decoding: body, as: UTF8.self)).first }
    }

    /// Runs one request, again after a pause while it fails in a way a later attempt may not
    /// (`RetryPolicy`); `restart` runs before each attempt (rewind an upload, empty a buffer).
    /// The body goes to `sink` (return false to stop) or into the response.
    private func request(_ method: String, key: String?, query: [(String, String)] = [], headers extra: [String] = [],
                         upload: (UnsafeMutablePointer<FILE>, Int64)? = nil, restart: () -> Void = {},
                         sink: ((UnsafeRawBufferPointer) -> Bool)? = nil) throws -> Response {
        let url = self.url(key: key, query: query)
        var headers = extra + ["x-amz-content-sha256: UNSIGNED-PAYLOAD"]
        if let token = credentials.sessionToken { headers.append("x-amz-security-token: \(token)") }
        var attempt = 0
        while true {
            restart()
            if let file = upload?.0 { rewind(file) }
            let (code, reason, response) = perform(method, url: url, headers: headers, upload: upload, sink: sink)
            // CURLE_WRITE_ERROR (23): the sink asked to stop (an object over its limit).
            if code != 0 && !(code == 23 && sink != nil) {
                if RetryPolicy.isTransient(curlCode: code), retry.pauseBeforeRetry(after: attempt) { attempt += 1; continue }
                throw KuraError.storageUnreachable(location: location, reason: reason)
            }
            if RetryPolicy.isTransient(status: response.status), retry.pauseBeforeRetry(after: attempt) { attempt += 1; continue }
            return response
        }
    }

    /// One attempt: the libcurl code (0 when a response came), its message, and the response.
    private func perform(_ method: String, url: String, headers: [String], upload: (UnsafeMutablePointer<FILE>, Int64)?,
                         sink: ((UnsafeRawBufferPointer) -> Bool)?) -> (Int32, String, Response) {
        let handle = takeHandle()
        defer { giveBack(handle) }
        final class Collector {
            var body: [UInt8] = []
            var sink: ((UnsafeRawBufferPointer) -> Bool)?
        }
        let collector = Collector()
        collector.sink = sink
        var status = 0
        var length: Int64 = -1
        var error = [CChar](repeating: 0, count: 256)
        let sigv4 = "aws:amz:\(region):s3"
        let code: Int32 = withCStrings(headers) { headerPointers in
            withCStrings([method, url, sigv4, credentials.accessKeyID, credentials.secretAccessKey]) { strings in
                var request = kura_curl_request(
                    method: strings[0], url: strings[1], headers: headerPointers.baseAddress, header_count: headerPointers.count,
                    sigv4: strings[2], username: strings[3], password: strings[4],
                    upload: upload?.0, upload_length: upload?.1 ?? 0,
                    write: { data, size, status, context in
                        guard let data, let context else { return 0 }
                        let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
                        let bytes = UnsafeRawBufferPointer(start: data, count: size)
                        // A success's body goes to the sink; an error's (S3's XML) is kept, bounded.
                        if let sink = collector.sink, (200..<300).contains(status) { return sink(bytes) ? size : 0 }
                        if collector.sink == nil || collector.body.count < 1 << 16 { collector.body.append(contentsOf: bytes) }
                        return size
                    },
                    write_context: Unmanaged.passUnretained(collector).toOpaque(),
                    timeout_seconds: 0, connect_timeout_seconds: 15, stall_seconds: 60)
                var longStatus = 0
                var longLength: Int64 = -1
                let result = kura_curl_perform(handle, &request, &longStatus, &longLength, &error)
                status = longStatus
                length = longLength
                return result
            }
        }
        let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (code, reason, Response(status: status, contentLength: length, body: collector.body, location: location))
    }

    private func url(key: String?, query: [(String, String)]) -> String {
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) ?? URLComponents()
        let encodedKey = key.map { "/" + S3XML.percentEncode($0, keepSlash: true) } ?? "/"
        if virtualHost {
            components.host = bucket + "." + (components.host ?? "")
            components.percentEncodedPath = encodedKey
        } else {
            components.percentEncodedPath = "/" + S3XML.percentEncode(bucket, keepSlash: false) + (key == nil ? "" : encodedKey)
        }
        components.percentEncodedQuery = query.isEmpty ? nil
            : query.sorted { $0.0 < $1.0 }.map { S3XML.percentEncode($0.0, keepSlash: false) + "=" + S3XML.percentEncode($0.1, keepSlash: false) }.joined(separator: "&")
        return components.string ?? endpoint.absoluteString
    }

    private func takeHandle() -> UnsafeMutableRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let handle = idle.popLast() { return handle }
        return kura_curl_new()
    }

    private func giveBack(_ handle: UnsafeMutableRawPointer) {
        lock.lock()
        idle.append(handle)
        lock.unlock()
    }
}
