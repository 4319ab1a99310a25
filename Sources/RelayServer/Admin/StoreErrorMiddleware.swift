import Hummingbird
import RelayStore

/// Turns a store's failure under `/admin/*` into the JSON error every other refusal gets: a value the database cannot
/// hold (a NUL byte in a lookup or an expectation key) is the caller's 400, anything else a 503 to retry. Without it a
/// `StoreError` left Hummingbird as a 500 with an empty body.
struct StoreErrorMiddleware: RouterMiddleware {
    typealias Context = RelayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreError where error.kind == .rejected {
            throw APIError.invalidRequest("the store refused a value of this request: \(error.cause ?? error.context)")
        } catch let error as StoreError {
            throw APIError.unavailable("the store cannot answer now; retry later", cause: error.message)
        }
    }
}
