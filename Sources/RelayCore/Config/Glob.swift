/// Shell-style wildcard matching used by route `types`: `*` matches any run of characters, `?` exactly one.
public enum Glob: Sendable {
    /// Whether the whole of `text` matches `pattern`; all other characters match themselves.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern)
        let text = Array(text)
        var p = 0
        var t = 0
        // Greedy matching with a single backtrack point (the last `*`) is linear-ish and never recursive.
        var starAt: Int?
        var textAtStar = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "*" {
                starAt = p
                textAtStar = t
                p += 1
            } else if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let star = starAt {
                p = star + 1
                textAtStar += 1
                t = textAtStar
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
