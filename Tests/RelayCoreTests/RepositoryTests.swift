import Foundation
import RelayCore
import Testing

/// A fresh clone tests itself: the fixtures are in the repository, and nothing that builds, tests or runs it
/// reads beside the repository (as a fixtures folder beside the clone once was).
@Suite struct RepositoryTests {
    /// The fixtures the tests use, by folder.
    static let expected = [
        "8x8": ["chatapps-inbound-v3", "delivered", "external-app-message", "read", "sms-inbound", "sms-undelivered",
                "undelivered", "v9-delivered-to-operator", "v9-queued"],
        "line": ["delivery", "delivery-with-tag", "verify-empty-events"],
    ]

    @Test func everyFixtureIsInTheRepositoryAndParses() throws {
        for (folder, names) in Self.expected {
            let files = try TestFiles.fixtureNames(in: folder)
            #expect(files == names.map { "\(folder)/\($0).json" }.sorted())
            for file in files {
                let value = try JSONParser.parse(try TestFiles.fixture(file))
                #expect(value.objectValue != nil, "\(file) is not a JSON object")
            }
        }
        #expect(FileManager.default.fileExists(atPath: TestFiles.fixtures.appendingPathComponent("README.md").path))
    }

    /// Folders a build, a test or CI reads; each of their text files is searched.
    static let searched = ["Sources", "Tests", "bench", "fuzz", ".ci"]

    @Test func nothingReadsBesideTheRepository() throws {
        let root = TestFiles.repositoryRoot()
        // Spelt in two parts so this file does not find itself.
        let outside = ["..", "/shared"].joined()
        let sharedFixtures = ["shared", "/fixtures"].joined()
        var offenders: [String] = []
        var searchedFiles = 0
        for folder in Self.searched {
            let base = root.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(atPath: base.path) else { continue }
            for case let relative as String in walker {
                let path = base.appendingPathComponent(relative).path
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                      let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                searchedFiles += 1
                if text.contains(outside) || text.contains(sharedFixtures) { offenders.append("\(folder)/\(relative)") }
            }
        }
        #expect(searchedFiles > 100, "only \(searchedFiles) files were searched")
        #expect(offenders == [], "these files read outside the repository")
    }
}
