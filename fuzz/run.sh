#!/usr/bin/env bash
# Fuzzes relay's untrusted-input parsers (JSON, LINE and 8x8 bodies) with libFuzzer and AddressSanitizer:
#   bash fuzz/run.sh            # FUZZ_SECONDS (120) of fuzzing, seeded with the provider fixtures
# The target (fuzz/main.swift) is built in .build-fuzz/ as its own small package over Sources/RelayCore, so the
# project's Package.swift carries no sanitizer flags. Crashing inputs are written to .build-fuzz/crash-*.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$ROOT/.build-fuzz
FIXTURES=${FIXTURES:-$ROOT/Tests/Fixtures}
SECONDS_TO_RUN=${FUZZ_SECONDS:-120}

mkdir -p "$WORK/pkg/Sources/fuzzrelay" "$WORK/corpus"
ln -sfn "$ROOT/Sources/RelayCore" "$WORK/pkg/Sources/RelayCore"
cp "$ROOT/fuzz/main.swift" "$WORK/pkg/Sources/fuzzrelay/main.swift"
# The same dependencies and versions as Package.swift's RelayCore target.
dependency() { grep -o "\.package(url: \"https://github.com/$1.git\", from: \"[0-9.]*\")" "$ROOT/Package.swift"; }
cat >"$WORK/pkg/Package.swift" <<SWIFT
// swift-tools-version:6.2
import PackageDescription
let package = Package(
    name: "fuzzrelay",
    platforms: [.macOS(.v15)],
    dependencies: [$(dependency apple/swift-crypto), $(dependency jpsim/Yams), $(dependency apple/swift-log)],
    targets: [
        .target(name: "RelayCore", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
        .executableTarget(name: "fuzzrelay", dependencies: ["RelayCore"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
SWIFT
(cd "$WORK/pkg" && swift build -c release --product fuzzrelay -Xswiftc -sanitize=fuzzer,address)

# Seeds: every fixture once per parser (the first byte picks it: 0 JSON, 1 LINE, 2 8x8).
if [ -d "$FIXTURES" ]; then
  for f in "$FIXTURES"/*/*.json; do
    for mode in 0 1 2; do (printf "\\x0$mode"; cat "$f") >"$WORK/corpus/$mode-$(basename "$(dirname "$f")")-$(basename "$f")"; done
  done
fi
cd "$WORK"
exec "$WORK/pkg/.build/release/fuzzrelay" "$WORK/corpus" -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -print_final_stats=1
