import Foundation

/// A media folder (Django's `MEDIA_ROOT`), walked into the snapshot tree under `media/`.
///
/// Siblings are visited in byte order of their names, a directory's subtree at the place of
/// `name/`: so files come out in the same order as their full paths sort in the snapshot
/// database, which lets the archiver compare them with the parent snapshot in one forward pass.
/// Symlinks are recorded, never followed. Names that are not valid UTF-8, sockets, FIFOs and
/// device files are reported as unreadable. What `ExclusionRules` leave out is not visited.
struct MediaSource {
    let root: String
    let prefix: String
    let exclusions: ExclusionRules
    private let matcher: PathMatcher?

    init(root: String, prefix: String = "media", exclusions: ExclusionRules = ExclusionRules()) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.prefix = prefix
        self.exclusions = exclusions
        matcher = exclusions.matcher
    }

    /// Walks the folder; throws only when the folder itself cannot be read.
    func walk(_ visit: (SourceItem) throws -> Void) throws {
        var info = stat()
        guard stat(root, &info) == 0 else { throw KuraError.posix("cannot read media folder", root) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw KuraError.mediaFolderMissing(path: root) }
        try visit(.entry(Entry(path: prefix, kind: .directory, status: info)))
        let components = matcher == nil ? [] : root.split(separator: "/").map { Array(String($0).utf8CString) }
        try walkDirectory(absolute: root, relative: prefix, components: components, device: info.st_dev, visit)
    }

    /// Whether a child is left out by the patterns or as a cache folder.
    private func isExcluded(_ absolute: String, components: [[CChar]], isDirectory: Bool) -> Bool {
        if let matcher, matcher.matches(components: components) { return true }
        return isDirectory && exclusions.excludeCaches && ExclusionRules.isCacheDirectory(absolute)
    }

    private func walkDirectory(absolute: String, relative: String, components: [[CChar]], device: dev_t,
                               _ visit: (SourceItem) throws -> Void) throws {
        guard let directory = opendir(absolute) else {
            try visit(.unreadable(path: absolute, reason: String(cString: strerror(errno))))
            return
        }
        var children: [(name: String, info: stat, key: [UInt8])] = []
        while let item = readdir(directory) {
            let raw = withUnsafeBytes(of: item.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if raw == [46] || raw == [46, 46] { continue }
            guard let name = String(validating: raw, as: UTF8.self) else {
                try visit(.unreadable(path: absolute + "/" + String(decoding: raw, as: UTF8.self), reason: "name is not valid UTF-8"))
                continue
            }
            var info = stat()
            // Relative to the open directory: the kernel does not walk the full path again.
            if name.withCString({ fstatat(dirfd(directory), $0, &info, AT_SYMLINK_NOFOLLOW) }) != 0 {
                try visit(.unreadable(path: absolute + "/" + name, reason: String(cString: strerror(errno))))
                continue
            }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            children.append((name, info, raw + (isDirectory ? [47] : [])))
        }
        closedir(directory)
        children.sort { $0.key.lexicographicallyPrecedes($1.key) }
        for child in children {
            let childAbsolute = absolute + "/" + child.name
            let childRelative = relative + "/" + child.name
            let childComponents = matcher == nil ? components : components + [Array(child.name.utf8CString)]
            let isDirectory = (child.info.st_mode & S_IFMT) == S_IFDIR
            if !exclusions.isEmpty && isExcluded(childAbsolute, components: childComponents, isDirectory: isDirectory) { continue }
            switch child.info.st_mode & S_IFMT {
            case S_IFDIR:
                try visit(.entry(Entry(path: childRelative, kind: .directory, status: child.info)))
                // A mount point is recorded, empty, with --one-file-system.
                if exclusions.oneFileSystem && child.info.st_dev != device { continue }
                try walkDirectory(absolute: childAbsolute, relative: childRelative, components: childComponents, device: device, visit)
            case S_IFREG:
                try visit(.file(absolutePath: childAbsolute, entry: Entry(path: childRelative, kind: .file, status: child.info)))
            case S_IFLNK:
                var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(childAbsolute, &buffer, buffer.count - 1)
                guard length >= 0, let target = String(validating: buffer[0..<length], as: UTF8.self) else {
                    try visit(.unreadable(path: childAbsolute, reason: "cannot read symlink"))
                    continue
                }
                try visit(.entry(Entry(path: childRelative, kind: .symlink, status: child.info, linkTarget: target)))
            default:
                try visit(.unreadable(path: childAbsolute, reason: "not a regular file, directory or symlink"))
            }
        }
    }
}
