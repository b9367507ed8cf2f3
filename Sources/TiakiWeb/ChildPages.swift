import Foundation
import HTTPTypes
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// Finding a child, registering one, and the child's page: what is recorded about them, and what the reader's role
/// may do next.
extension WebPages {
    func addChildRoutes(to routes: RouteCollection<Context>) {
        get(routes, "children") { request, _, viewer in try find(request, viewer) }
        get(routes, "children/new") { request, _, viewer in
            let (values, errors, token) = draft(request, viewer, RegisterFields.self)
            return try registerForm(viewer, values ?? RegisterFields(), errors: errors, token: token)
        }
        post(
            routes,
            "children",
            redraw: { viewer, submission, errors in
                try registerForm(
                    viewer,
                    (try? submission.decode()) ?? RegisterFields(),
                    errors: errors,
                    token: submission.token
                )
            },
            submit: { _, _, viewer, submission in try await register(viewer, submission) }
        )
        get(routes, "children/:subject") { request, context, viewer in
            try childPage(request, viewer, try Self.parameter(context, "subject"))
        }
    }

    // MARK: Drafts

    /// The values and problems of a form kept under `?draft=` in this session (a form drawn again after a problem,
    /// in the other language), and the form's one-time token: the draft's, or a new one.
    func draft<T: Decodable>(_ request: Request, _ viewer: Viewer, _ type: T.Type) -> (T?, [FieldError], String) {
        let query = Form(request.uri.query ?? "")
        guard let token = query["draft"], let session = viewer.session,
            let kept = sessions.draft(Self.token(token), session: session.id)
        else { return (nil, [], SessionStore.random()) }
        let values = try? URLEncodedFormDecoder().decode(T.self, from: kept.body)
        return (values, kept.errors, Self.token(token))
    }

    /// Keeps what a form held, so that the page drawn from it can be drawn again (in the other language, after the
    /// session's token changed); returns the address that draws it.
    func keep(_ submission: Submission, errors: [FieldError], viewer: Viewer, at path: String) -> String {
        if let session = viewer.session {
            sessions.keep(
                SessionStore.Draft(body: submission.body, errors: errors),
                token: submission.token,
                session: session.id
            )
        }
        return Self.adding("draft=" + submission.token, to: path)
    }

    /// A form drawn again with its problems: kept as a draft, so that the language link draws it again too.
    func problems(
        _ viewer: Viewer,
        _ submission: Submission,
        _ errors: [FieldError],
        at path: String,
        _ draw: (Viewer) throws -> Response
    ) throws -> Outcome {
        var out = viewer
        out.here = keep(submission, errors: errors, viewer: viewer, at: path)
        var response = try draw(out)
        response.status = .badRequest
        return .shown(response)
    }

    // MARK: Finding a child

    struct FindModel: Encodable {
        let nsn: String
        let ref: String
        let searched: Bool
        let found: String?
        let error: String?
        /// A privacy officer says which organisation gave a reference.
        let orgs: [Choice]
        let hasOrgs: Bool
        let mayRegister: Bool
    }

    struct Choice: Encodable {
        let code: String
        let label: String
        let checked: Bool
        var id: String = ""
        var name: String = ""
    }

    func find(_ request: Request, _ viewer: Viewer) throws -> Response {
        let caller = try viewer.require(.findChild)
        let query = Form(request.uri.query ?? "")
        var found: String?
        var error: String?
        let searched = query["nsn"] != nil || query["ref"] != nil
        if searched {
            do {
                found = try services.subjects.find(
                    nsn: query["nsn"],
                    localReference: query["nsn"] == nil ? query["ref"] : nil,
                    org: query["org"],
                    for: caller
                )
            } catch let e as TiakiError where e.code == .invalid {
                error = FieldError(e, fallback: "nsn").message(viewer.w)
            }
        }
        if let found, query["open"] != nil { return Self.redirect("/children/\(found)") }
        let orgs =
            caller.role == .member
            ? []
            : services.core.read { $0.organisations.values.sorted { $0.name < $1.name } }.map {
                Choice(code: $0.id, label: $0.name, checked: query["org"] == $0.id)
            }
        return render(
            viewer,
            .find,
            title: viewer.w["findTitle"] ?? "",
            status: error == nil ? .ok : .badRequest,
            FindModel(
                nsn: query["nsn"] ?? "",
                ref: query["ref"] ?? "",
                searched: searched && error == nil,
                found: found,
                error: error,
                orgs: orgs,
                hasOrgs: !orgs.isEmpty,
                mayRegister: caller.may(.registerChild)
            )
        )
    }

    // MARK: Registering a child

    struct RegisterFields: Codable {
        var birthMonth: String?
        var nsn: String?
        var localReference: String?
        var name: String?
    }

    struct RegisterModel: Encodable {
        let v: RegisterFields
        let errors: [ErrorLine]
        let once: String
        let birthMonthError: String?
        let nsnError: String?
        let localReferenceError: String?
        let nameError: String?
    }

    func registerForm(
        _ viewer: Viewer,
        _ values: RegisterFields,
        errors: [FieldError],
        token: String,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        _ = try viewer.require(.registerChild)
        let w = viewer.w
        return render(
            viewer,
            .register,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["registerTitle"] ?? ""),
            status: status,
            RegisterModel(
                v: values,
                errors: errors.lines(w),
                once: token,
                birthMonthError: errors.message(for: "birthMonth", words: w),
                nsnError: errors.message(for: "nsn", words: w),
                localReferenceError: errors.message(for: "localReference", words: w),
                nameError: errors.message(for: "name", words: w)
            )
        )
    }

    func register(_ viewer: Viewer, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.registerChild)
        let form: RegisterFields = try submission.decode()
        func redraw(_ errors: [FieldError]) throws -> Outcome {
            try problems(viewer, submission, errors, at: "/children/new") {
                try registerForm($0, form, errors: errors, token: submission.token)
            }
        }
        let typed = form.birthMonth?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !typed.isEmpty else { return try redraw([FieldError("birthMonth", "missing")]) }
        guard let month = TypedDates.month(typed) else { return try redraw([FieldError("birthMonth")]) }
        do {
            let recorded = try await services.subjects.register(
                SubjectInput(
                    birthMonth: month,
                    nsn: form.nsn.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 },
                    localReference: form.localReference.flatMap {
                        FreeText.trimmed($0).isEmpty ? nil : FreeText.trimmed($0)
                    },
                    name: form.name.flatMap { FreeText.trimmed($0).isEmpty ? nil : $0 }
                ),
                actor: caller.actor
            )
            guard let subject = recorded.entry.subject else { throw PageError.notFound }
            return .recorded("/children/\(subject)?recorded=child")
        } catch let error as TiakiError where error.isFieldProblem {
            return try redraw([FieldError(error, fallback: "birthMonth")])
        }
    }

    // MARK: A child's page

    struct ChildModel: Encodable {
        let subject: String
        let heading: String
        let born: String
        let banner: String?
        let actions: [ActionLink]
        let consents: [ConsentCard]
        let refusals: [ConsentCard]
        let shares: [ShareRow]
        let decisions: [DecisionCard]
        let review: Bool
    }

    struct ActionLink: Encodable {
        let href: String
        let label: String
        let secondary: Bool
    }

    struct ConsentCard: Encodable {
        let id: Int
        let title: String
        let status: String
        let agreedBy: String?
        let items: [String]
        let receipt: Bool
        let withdraw: Bool
    }

    struct ShareRow: Encodable {
        let id: UInt64
        let date: String
        let recipient: String
        let information: String
        let purpose: String
        let reviewed: String?
        let needsReview: Bool
    }

    struct DecisionCard: Encodable {
        let date: String
        let question: String
        let answer: String
        let reasons: [String]
    }

    /// The words of the banner a recorded action leads to (`?recorded=consent`), and "already recorded" when a
    /// form was sent twice.
    func banner(_ request: Request, _ viewer: Viewer) -> String? {
        let query = Form(request.uri.query ?? "")
        if query["already"] != nil { return viewer.w["banner.already"] }
        guard let what = query["recorded"], what.utf8.count <= 32 else { return nil }
        return viewer.w["banner.\(what)"]
    }

    func childPage(_ request: Request, _ viewer: Viewer, _ id: String) throws -> Response {
        let caller = try viewer.require(.viewChild)
        let subject = try services.subject(id, visibleTo: caller)
        let w = viewer.w
        let vocabulary = services.core.vocabulary
        let labels = ConsentSummary.labels(vocabulary, language: viewer.language)
        var consents: [ConsentCard] = []
        var refusals: [ConsentCard] = []
        for item in try services.consents.list(subject: subject.id, for: caller) {
            let status = w["status.\(item.status.rawValue)"] ?? item.status.rawValue
            if let id = item.consent, let view = try services.consents.view(id, for: caller) {
                var statusLine = status
                if let withdrawn = view.withdrawn {
                    statusLine +=
                        " \(w["withdrawnOn"] ?? "") \(viewer.day(withdrawn.date)) (\(vocabulary.label(withdrawn.by, in: .consenter, language: viewer.language)))"
                }
                let names = view.consenterNames ?? []
                let agreed = view.terms.consenters.enumerated().map { i, c in
                    let role = vocabulary.label(c.role, in: .consenter, language: viewer.language)
                    return (i < names.count ? names[i] : nil).map { "\($0) (\(role))" } ?? role
                }
                // A role that may not read the words people typed sees that they are sealed, not their cipher.
                let sealedWords = w["sealedWords"] ?? ""
                let lines = ConsentSummary.plainLines(
                    view.terms.mapText { Sealed.isSealed($0) ? sealedWords : $0 },
                    labels: labels,
                    organisation: organisationName,
                    words: viewer.documentWords
                )
                consents.append(
                    ConsentCard(
                        id: id,
                        title:
                            "\(w["consentNumber"] ?? "") \(id) · \(w["consentGiven"] ?? "") \(viewer.day(view.terms.informed.date))",
                        status: statusLine,
                        agreedBy: ConsentSummary.list(agreed, joiner: w["and"] ?? "and"),
                        items: lines.map { String($0.drop { $0 != " " }.dropFirst()) },
                        receipt: caller.may(.readReceipt),
                        withdraw: caller.may(.withdrawConsent) && item.status == .inForce
                    )
                )
            } else if let refusal = item.refusal {
                refusals.append(
                    ConsentCard(
                        id: Int(refusal),
                        title: "\(w["declinedOn"] ?? "") \(viewer.day(item.date ?? ""))",
                        status: status,
                        agreedBy: nil,
                        items: [
                            (w["askedAbout"] ?? "") + " "
                                + ConsentSummary.list(item.purposes.map { labels[$0] ?? $0 }, joiner: w["and"] ?? "and")
                                + " · "
                                + ConsentSummary.list(
                                    item.information.map { labels[$0] ?? $0 },
                                    joiner: w["and"] ?? "and"
                                )
                        ],
                        receipt: false,
                        withdraw: false
                    )
                )
            }
        }
        let decisionViews = try services.decisions.list(subject: subject.id, for: caller)
        let seriousThreat = Set(decisionViews.filter { $0.record.request.seriousThreat == true }.map(\.decision))
        let shares = try services.disclosures.list(subject: subject.id, for: caller).map { d in
            ShareRow(
                id: d.disclosure,
                date: viewer.day(d.record.date),
                recipient: organisationName(d.record.recipient),
                information: ConsentSummary.list(
                    d.record.information.map { labels[$0] ?? $0 },
                    joiner: w["and"] ?? "and"
                ),
                purpose: labels[d.record.purpose] ?? d.record.purpose,
                reviewed: d.reviewed.map { w[$0 == .justified ? "outcomeJustified" : "outcomeNotJustified"] ?? "" },
                needsReview: !d.record.flags.isEmpty
                    || d.record.decision.map { seriousThreat.contains(UInt64($0)) } == true
            )
        }
        let decisions = decisionViews.reversed().map { d in
            DecisionCard(
                date: viewer.day(d.record.request.date),
                question: question(d.record.request.share, labels, viewer),
                answer: w[d.record.effect == .permit ? "permitted" : "notPermitted"] ?? d.record.effect.rawValue,
                reasons: SubjectReport.plainReasons(d.record.reasons, consent: { _ in nil }, labelled: false)
            )
        }
        let name = caller.may(.readPersonalDetails) ? try services.subjects.name(of: subject.id) : nil
        let born =
            Day.parseMonth(subject.birthMonth).map {
                "\(w["born"] ?? "") \(viewer.monthName($0.month)) \($0.year)"
            } ?? ""
        var actions: [ActionLink] = []
        let base = "/children/\(subject.id)"
        for (action, path, label, secondary) in [
            (Action.recordConsent, "/consents/new", "recordConsent", false), (.decide, "/share", "mayWeShare", false),
            (.recordRefusal, "/refusals/new", "recordRefusal", true), (.readReport, "/report", "report", false),
            (.eraseChild, "/erase", "erase", true),
        ] where caller.may(action) {
            actions.append(ActionLink(href: base + path, label: w[label] ?? label, secondary: secondary))
        }
        return render(
            viewer,
            .child,
            title: name ?? (w["aChild"] ?? ""),
            ChildModel(
                subject: subject.id,
                heading: name ?? (w["aChild"] ?? ""),
                born: born,
                banner: banner(request, viewer),
                actions: actions,
                consents: consents,
                refusals: refusals,
                shares: shares,
                decisions: decisions,
                review: caller.may(.reviewDisclosure)
            )
        )
    }

    /// A request to share in one line: what, to whom, why.
    func question(_ share: Share, _ labels: ConsentSummary.Labels, _ viewer: Viewer) -> String {
        let w = viewer.w
        return
            "\(ConsentSummary.list(share.information.map { labels[$0] ?? $0 }, joiner: w["and"] ?? "and")) → \(organisationName(share.recipient)), "
            + (labels[share.purpose] ?? share.purpose)
    }
}

extension WebPages.Viewer {
    /// A month's name in the reader's language.
    func monthName(_ month: Int) -> String { Day(number: 0).monthName(month, in: language) }
}

extension Day {
    func monthName(_ month: Int, in language: String) -> String {
        let day = Day(String(format: "2000-%02d-01", max(1, min(12, month)))) ?? self
        return String(day.plain(in: language).split(separator: " ")[1])
    }
}
