import Foundation
import Testing

@testable import RelayCore

/// STYLE.md: a new provider is one folder under `Sources/RelayCore/Providers/` and one line in the registry
/// (`Providers/ProviderRegistry.swift`, inside that folder). So no other source file may name a provider.
///
/// What counts as naming one: its type or display names (`LINE...`, `EightByEight...`, `eightByEight`, `8x8`), its
/// config keys (`channel_secret(s)`, `line_channel_secret` and their Swift spellings), its headers (`X-Line-...`), its
/// sample names and canonical source prefix (`"line-...`, `"line"`, `/line/`) and its kind used as a value
/// (`== .line`, `case .line`, `: .line`, `(.line`). Not counted: the word "line" for line numbers (`node.mark?.line`),
/// and source ids in example values (`from: [line, eightxeight]`), which are ids an operator chose, not providers.
@Suite struct ProviderBoundaryTests {
    static let pattern = #"LINE|EightByEight|eightByEight|8x8|channel_secret|channelSecret|line_channel|lineChannel|[Xx]-[Ll]ine|"line[-"/]|/line/|(==|!=|\bcase|[:(,\[]) *\.line\b"#

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let providers = root.appendingPathComponent("Sources/RelayCore/Providers").path + "/"

    /// `path:line: text` of every line in `file` that names a provider.
    static func namings(in file: URL) throws -> [String] {
        let regex = try Regex(pattern)
        let text = try String(contentsOf: file, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            line.contains(regex) ? "\(file.path.dropFirst(root.path.count + 1)):\(index + 1): \(line)" : nil
        }
    }

    static func swiftFiles(under folder: URL) -> [URL] {
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        return (walker?.allObjects as? [URL] ?? []).filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    }

    @Test func noSourceOutsideProvidersNamesAProvider() throws {
        let files = Self.swiftFiles(under: Self.root.appendingPathComponent("Sources"))
        #expect(files.count > 50, "found the sources at \(Self.root.path)")
        let outside = files.filter { !$0.standardizedFileURL.path.hasPrefix(Self.providers) }
        #expect(outside.count < files.count)
        let namings = try outside.flatMap(Self.namings)
        #expect(namings.isEmpty, "outside Providers/:\n\(namings.joined(separator: "\n"))")
    }

    /// The pattern is not vacuous: it finds the providers in their own folders.
    @Test func thePatternFindsTheProvidersInTheirFolders() throws {
        for folder in ["LINE", "EightByEight"] {
            let files = Self.swiftFiles(under: URL(fileURLWithPath: Self.providers + folder))
            #expect(try !files.flatMap(Self.namings).isEmpty, "\(folder)")
        }
        #expect(try !Self.namings(in: URL(fileURLWithPath: Self.providers + "ProviderRegistry.swift")).isEmpty)
    }
}
