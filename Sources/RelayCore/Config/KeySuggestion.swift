/// Finds the allowed key a misspelt one was probably meant to be, for "did you mean" hints.
enum KeySuggestion {
    /// The closest allowed key within a small edit distance, if any.
    static func closest(to key: String, in allowed: [String]) -> String? {
        let lowered = key.lowercased()
        let scored = allowed.map { (candidate: $0, distance: distance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        // Allow roughly one typo per three characters, so "url" does not suggest "ttl"-like noise.
        let limit = max(1, min(3, key.count / 3))
        return best.distance <= limit ? best.candidate : nil
    }

    /// Edit distance counting an adjacent swap as one edit ("form" is one typo away from "from").
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
