import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Tracing for `relay serve` (SPEC section 15), configured by the standard `OTEL_*` variables as swift-otel reads
/// them. Only traces: relay's metrics stay its own Prometheus registry and its logs stay JSON lines on stdout.
public enum TracingSetup {
    /// Whether the environment asks for traces: an OTLP endpoint or a traces exporter is named, and the SDK is not
    /// disabled. With none of these set relay makes no span at all (an SDK's default would export to localhost:4318).
    public static func isRequested(_ environment: [String: String]) -> Bool {
        func value(_ name: String) -> String? {
            environment[name].map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        }
        if value("OTEL_SDK_DISABLED") == "true" { return false }
        if let exporter = value("OTEL_TRACES_EXPORTER") { return exporter != "none" }
        return value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil || value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil
    }

    /// Adds the current span's `trace_id` and `span_id` to every log line written inside it.
    public static var loggingMetadataProvider: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }

    /// Makes the tracer the environment describes and installs it as the process's (`InstrumentationSystem`, once per
    /// process); the service exports finished spans in batches and flushes them on shutdown.
    static func bootstrap(logger: Logger) throws -> (tracer: any Tracer, service: any Service) {
        var configuration = OTel.Configuration.default
        configuration.diagnosticLogger = .custom(logger)
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return (backend.factory, backend.service)
    }
}
