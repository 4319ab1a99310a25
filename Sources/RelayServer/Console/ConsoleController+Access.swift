import Hummingbird
import Logging
import RelayCore
import RelayStore

/// Sign-in, sign-out and the gate every page and form passes.
extension ConsoleController {
    /// The visit of `request`; nil when it must sign in first. With a token configured that takes a session signed in
    /// with the token in force now (one signed in with an earlier token is ended here). With none (loopback only),
    /// nobody signs in and nothing is stored: forms carry the CSRF token of a signed cookie.
    func visit(_ request: Request, _ context: RelayRequestContext) -> ConsoleVisit? {
        guard let token = config.current.adminToken else {
            if let csrf = cookies.csrf(of: request) { return ConsoleVisit(csrf: csrf, canSignOut: false) }
            let issued = cookies.issue()
            return ConsoleVisit(csrf: issued.csrf, canSignOut: false, cookie: issued.cookie)
        }
        guard let session = context.sessions.session else { return nil }
        guard cookies.matches(session.tokenTag, token: token) else {
            context.sessions.clearSession()
            return nil
        }
        return ConsoleVisit(csrf: session.csrf, canSignOut: true)
    }

    /// A page for a signed-in visit; otherwise to the sign-in form.
    func page(_ request: Request, _ context: RelayRequestContext, _ body: (ConsoleVisit) async throws -> Response) async throws -> Response {
        guard enabled else { return Self.disabled() }
        guard let visit = visit(request, context) else { return Self.redirect("/login") }
        var response = try await answer(visit) { try await body(visit) }
        if let cookie = visit.cookie { response.setCookie(cookie) }
        return response
    }

    /// A form post of a signed-in visit with its CSRF token; 403 otherwise, before anything is done.
    func form(_ request: Request, _ context: RelayRequestContext, _ body: (ConsoleVisit, [String: String]) async throws -> Response) async throws -> Response {
        guard enabled else { return Self.disabled() }
        let fields = try await Self.formFields(request)
        guard let visit = visit(request, context) else { return Self.redirect("/login") }
        guard visit.cookie == nil, Self.sameToken(fields["csrf"], visit.csrf) else { return Self.forbidden() }
        return try await answer(visit) { try await body(visit, fields) }
    }

    /// `GET /login`: the form, its CSRF token on a signed cookie (no session is stored before sign-in).
    func signInForm(_ request: Request, _ context: RelayRequestContext) async throws -> Response {
        guard enabled else { return Self.disabled() }
        if config.current.adminToken == nil || visit(request, context) != nil { return Self.redirect("/") }
        if let csrf = cookies.csrf(of: request) { return signInPage(csrf: csrf) }
        let issued = cookies.issue()
        var response = signInPage(csrf: issued.csrf)
        response.setCookie(issued.cookie)
        return response
    }

    /// `POST /login`: the form's CSRF token, then the address's back-off, then the token (constant time). A wrong one
    /// is logged without what was typed and counts towards the back-off; the right one starts a session bound to it.
    func signIn(_ request: Request, _ context: RelayRequestContext) async throws -> Response {
        guard enabled else { return Self.disabled() }
        guard let token = config.current.adminToken else { return Self.redirect("/") }
        let form = try await Self.formFields(request)
        guard let csrf = cookies.csrf(of: request), Self.sameToken(form["csrf"], csrf) else { return Self.forbidden() }
        let address = AdminTokenMiddleware.clientAddress(context)
        if let wait = throttle.wait(address) {
            var response = signInPage(csrf: csrf, error: Self.waitText(wait), status: .tooManyRequests)
            response.headers[.retryAfter] = String(AdminTokenMiddleware.seconds(wait))
            return response
        }
        guard let given = form["token"], ConstantTime.equals(Array(given.utf8), Array(token.utf8)) else {
            let (failures, lock) = throttle.failed(address)
            AdminTokenMiddleware.logRefusal(context, surface: "console", address: address, failures: failures, lock: lock)
            let text = "That is not the admin token." + (lock.map { " " + Self.waitText($0) } ?? "")
            return signInPage(csrf: csrf, error: text, status: .unauthorized)
        }
        throttle.succeeded(address)
        context.sessions.createSession(ConsoleSession(csrf: ConsoleCookies.randomToken(), tokenTag: cookies.tag(ofToken: token)))
        return Self.redirect("/")
    }

    /// `POST /logout`: ends the session (with its CSRF token).
    func signOut(_ request: Request, _ context: RelayRequestContext) async throws -> Response {
        let form = try await Self.formFields(request)
        guard let visit = visit(request, context), visit.canSignOut else { return Self.redirect("/login") }
        guard Self.sameToken(form["csrf"], visit.csrf) else { return Self.forbidden() }
        context.sessions.clearSession()
        return Self.redirect("/login")
    }

    static func waitText(_ wait: Duration) -> String {
        "Too many wrong tokens from your address: try again in \(AdminTokenMiddleware.seconds(wait)) s."
    }

    private func signInPage(csrf: String, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var values: [String: Any] = ["title": "Sign in", "csrf": csrf]
        if let error { values["error"] = error }
        return render("login", values, visit: nil, status: status)
    }

    /// A page's answer, with a bad input or a store that cannot answer as a page that says so.
    private func answer(_ visit: ConsoleVisit, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as APIError {
            return problem("Bad request", error.message, visit, status: error.status)
        } catch let error as StoreError {
            return problem("The store cannot answer now", error.message, visit, status: .serviceUnavailable)
        }
    }
}
