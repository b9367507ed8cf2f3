import Foundation
import HTTPTypes
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// The duties after a share, on pages: a member's notices (IPP 3A notices it owes, withdrawals to acknowledge,
/// consents to renew) and the privacy officer's breach register. The services decide; these only draw and ask.
extension WebPages {
    func addDutyRoutes(to routes: RouteCollection<Context>) {
        get(routes, "notices") { request, _, viewer in try notices(request, viewer) }
        get(routes, "notices/collections/:disclosure") { request, context, viewer in
            try noticeDocument(request, viewer, try Self.index(context, "disclosure"))
        }
        post(routes, "notices/collections/:disclosure/sent") { _, context, viewer, submission in
            try await noticeSent(viewer, try Self.index(context, "disclosure"), submission)
        }
        post(routes, "notices/withdrawals/:consent/acknowledge") { _, context, viewer, _ in
            try await acknowledge(viewer, try Self.index(context, "consent"))
        }
        get(routes, "breaches") { request, _, viewer in
            let (values, errors, token) = draft(request, viewer, BreachFields.self)
            return try breaches(request, viewer, values ?? BreachFields(), errors: errors, token: token)
        }
        post(routes, "breaches") { request, _, viewer, submission in
            try await recordBreach(request, viewer, submission)
        }
        get(routes, "breaches/:breach") { request, context, viewer in
            try breach(request, viewer, try Self.parameter(context, "breach"), errors: [])
        }
        get(routes, "breaches/:breach/report") { _, context, viewer in
            try breachReport(viewer, try Self.parameter(context, "breach"))
        }
        post(routes, "breaches/:breach/:step") { request, context, viewer, submission in
            try await breachStep(
                request,
                viewer,
                try Self.parameter(context, "breach"),
                try Self.parameter(context, "step"),
                submission
            )
        }
        get(routes, "breaches/:breach/notices/:subject") { request, context, viewer in
            try breachNotice(
                request,
                viewer,
                try Self.parameter(context, "breach"),
                try Self.parameter(context, "subject")
            )
        }
    }

    // MARK: A member's notices

    struct NoticeItem: Encodable {
        let id: String
        let action: String
        let subject: String?
    }

    struct NoticesModel: Encodable {
        let banner: String?
        let collections: [NoticeItem]
        let collectionsTotal: Int
        let withdrawals: [NoticeItem]
        let withdrawalsTotal: Int
        let renewals: [NoticeItem]
        let renewalsTotal: Int
        let methods: [Choice]
    }

    func notices(_ request: Request, _ viewer: Viewer) throws -> Response {
        let caller = try viewer.require(.readNotices)
        let list = try services.notices.list(
            for: caller.org,
            on: services.core.today,
            filter: .due,
            limit: NoticeList.defaultLimit
        )
        let w = viewer.w
        let state = services.core.snapshot
        func plain(_ text: String) -> String {
            var t = text
            for (id, org) in state.organisations { t = t.replacingOccurrences(of: id, with: org.name) }
            return Self.plainDays(t, viewer)
        }
        return render(
            viewer,
            .notices,
            title: w["noticesTitle"] ?? "",
            NoticesModel(
                banner: banner(request, viewer),
                collections: list.collections.items.map {
                    NoticeItem(id: String($0.disclosure), action: plain($0.action), subject: nil)
                },
                collectionsTotal: list.collections.total,
                withdrawals: list.withdrawals.items.map {
                    NoticeItem(id: String($0.consent), action: plain($0.action), subject: nil)
                },
                withdrawalsTotal: list.withdrawals.total,
                renewals: list.renewals.items.map {
                    NoticeItem(id: $0.subject, action: plain($0.action), subject: $0.subject)
                },
                renewalsTotal: list.renewals.total,
                methods: ["email", "post", "in-person", "phone"].map {
                    Choice(code: $0, label: w["method.\($0)"] ?? $0, checked: $0 == "email")
                }
            )
        )
    }

    // MARK: Documents in the frame

    struct DocumentSection: Encodable {
        let lang: String
        let title: String
        let note: String?
        let paragraphs: [DocumentParagraph]
    }

    struct DocumentParagraph: Encodable {
        let heading: String?
        let text: String
    }

    struct DocumentModel: Encodable {
        let sections: [DocumentSection]
        let rows: [DocumentParagraph]
        let back: String
        let backLabel: String
    }

    /// A notice for the whānau as a printable page, in the frame (printed without it), with a way back.
    func document(_ viewer: Viewer, _ document: NoticeDocument, back: (String, String)) -> Response {
        render(
            viewer,
            .document,
            title: document.parts.map(\.title).joined(separator: " · "),
            DocumentModel(
                sections: document.parts.map { part in
                    DocumentSection(
                        lang: part.language.rawValue,
                        title: part.title,
                        note: part.note,
                        paragraphs: part.paragraphs.map { DocumentParagraph(heading: $0.heading, text: $0.text) }
                    )
                },
                rows: [],
                back: back.0,
                backLabel: viewer.w[back.1] ?? back.1
            )
        )
    }

    /// The IPP 3A notice itself, as a printable document in the languages asked for.
    func noticeDocument(_ request: Request, _ viewer: Viewer, _ disclosure: Int) throws -> Response {
        let caller = try viewer.require(.readNoticeDocument)
        let languages = DocumentLanguage.choice(Form(request.uri.query ?? "")["lang"]) ?? [.en]
        let facts: CollectionNoticeFacts
        do {
            facts = try services.notices.collectionNoticeFacts(disclosure, for: caller)
        } catch let error as TiakiError where error.code == .unknownDisclosure {
            throw PageError.notFound
        }
        return document(
            viewer,
            NoticeDocument.collection(facts, languages: languages),
            back: ("/notices", "backToNotices")
        )
    }

    struct SentFields: Decodable {
        var method: String?
    }

    func noticeSent(_ viewer: Viewer, _ disclosure: Int, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.recordCollectionNotice)
        let form: SentFields = try submission.decode()
        var input = NoticeSentInput(disclosures: [disclosure], method: .email, languages: ["en", "mi"])
        input.method = form.method ?? ""
        do {
            _ = try await services.notices.recordSent(input, actor: caller.actor)
        } catch let error as TiakiError where error.code == .unknownDisclosure {
            throw PageError.notFound
        } catch let error as TiakiError where error.code == .conflict {
            return .recorded("/notices?recorded=notice&already=1")
        }
        return .recorded("/notices?recorded=notice")
    }

    func acknowledge(_ viewer: Viewer, _ consent: Int) async throws -> Outcome {
        let caller = try viewer.require(.acknowledgeWithdrawal)
        do {
            _ = try await services.notices.acknowledgeWithdrawal(consent, date: nil, actor: caller.actor)
        } catch let error as TiakiError where error.code == .unknownConsent {
            throw PageError.notFound
        } catch let error as TiakiError where error.code == .conflict {
            return .recorded("/notices?recorded=acknowledgement&already=1")
        }
        return .recorded("/notices?recorded=acknowledgement")
    }

    // MARK: The breach register

    struct BreachFields: Codable {
        var found: String?
        var description: String?
        var recipient: String?
        var from: String?
        var to: String?
    }

    struct BreachRow: Encodable {
        let breach: String
        let found: String
        let children: Int
        let status: String
        let overdue: Bool
    }

    struct BreachesModel: Encodable {
        let banner: String?
        let once: String
        let errors: [ErrorLine]
        let breaches: [BreachRow]
        let v: BreachFields
        let foundError: String?
        let descriptionError: String?
        let recipientError: String?
        let fromError: String?
        let toError: String?
        let recipients: [Choice]
    }

    func breaches(
        _ request: Request,
        _ viewer: Viewer,
        _ v: BreachFields,
        errors: [FieldError],
        token: String
    ) throws -> Response {
        _ = try viewer.require(.handleBreaches)
        let w = viewer.w
        let orgs = services.core.read { $0.organisations.values.sorted { $0.name < $1.name } }
        return render(
            viewer,
            .breaches,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["breachesTitle"] ?? ""),
            BreachesModel(
                banner: banner(request, viewer),
                once: token,
                errors: errors.lines(w),
                breaches: services.breaches.list().map { b in
                    BreachRow(
                        breach: b.breach,
                        found: Moment(b.found).map { local.plain($0) } ?? b.found,
                        children: b.children,
                        status: w["breachStatus.\(b.status)"] ?? b.status,
                        overdue: b.overdue
                    )
                },
                v: v,
                foundError: errors.message(for: "found", words: w),
                descriptionError: errors.message(for: "description", words: w),
                recipientError: errors.message(for: "breachRecipient", words: w),
                fromError: errors.message(for: "from", words: w),
                toError: errors.message(for: "to", words: w),
                recipients: [Choice(code: "", label: w["notKnown"] ?? "", checked: (v.recipient ?? "").isEmpty)]
                    + orgs.map { Choice(code: $0.id, label: $0.name, checked: v.recipient == $0.id) }
            )
        )
    }

    func recordBreach(_ request: Request, _ viewer: Viewer, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.handleBreaches)
        let form: BreachFields = try submission.decode()
        var errors: [FieldError] = []
        var found = ""
        if let typed = form.found, !typed.trimmingCharacters(in: .whitespaces).isEmpty {
            if let moment = TypedDates.moment(typed, in: local) {
                found = moment.description
            } else {
                errors.append(FieldError("found"))
            }
        } else {
            errors.append(FieldError("found", "missing"))
        }
        if (form.description.map(FreeText.trimmed) ?? "").isEmpty {
            errors.append(FieldError("description", "missing"))
        }
        func day(_ text: String?, _ field: String) -> String? {
            guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            guard let day = TypedDates.day(text) else {
                errors.append(FieldError(field))
                return nil
            }
            return day.description
        }
        let from = day(form.from, "from")
        let to = day(form.to, "to")
        func redraw(_ errors: [FieldError]) throws -> Outcome {
            try problems(viewer, submission, errors, at: "/breaches") {
                try breaches(request, $0, form, errors: errors, token: submission.token)
            }
        }
        guard errors.isEmpty else { return try redraw(errors) }
        do {
            let recorded = try await services.breaches.record(
                BreachInput(
                    found: found,
                    description: form.description ?? "",
                    recipient: (form.recipient ?? "").isEmpty ? nil : form.recipient,
                    from: from,
                    to: to
                ),
                actor: caller.actor
            )
            guard let b = recorded.entry.body as? BreachRecorded else { throw PageError.notFound }
            return .recorded("/breaches/\(b.breach)?recorded=breach")
        } catch let error as TiakiError where error.isFieldProblem {
            var problem = FieldError(error, fallback: "found")
            // The share form has a recipient too: the breach's is its own field, with its own words.
            if problem.field == "recipient" || problem.field == "disclosures" || problem.field == "channel" {
                problem.field = "breachRecipient"
            }
            return try redraw([problem])
        }
    }

    func breachFacts(_ id: String) throws -> BreachFacts {
        do {
            return try services.breaches.facts(id)
        } catch let error as TiakiError where error.code == .unknownBreach {
            throw PageError.notFound
        }
    }

    struct BreachChild: Encodable {
        let label: String
        let subject: String
        let information: String
        let sensitive: String?
        let sent: Bool
    }

    struct BreachModel: Encodable {
        let breach: String
        let banner: String?
        let errors: [ErrorLine]
        let statusLine: String
        let description: String
        let children: [BreachChild]
        let childCount: Int
        let assessed: Bool
        let notifiable: Bool
        let commissioner: Bool
        let factors: [Choice]
        let seriousHarmError: String?
        let referenceError: String?
    }

    func breach(_ request: Request?, _ viewer: Viewer, _ id: String, errors: [FieldError]) throws -> Response {
        _ = try viewer.require(.handleBreaches)
        let f = try breachFacts(id)
        let w = viewer.w
        let found = Moment(f.found).map { local.plain($0) } ?? f.found
        let assessBy = Moment(f.assessBy).map { local.plain($0) } ?? f.assessBy
        return render(
            viewer,
            .breach,
            title: "\(w["breach"] ?? "") \(f.breach)",
            status: errors.isEmpty ? .ok : .badRequest,
            BreachModel(
                breach: f.breach,
                banner: request.flatMap { banner($0, viewer) },
                errors: errors.lines(w),
                statusLine:
                    "\(w["found"] ?? "") \(found) · \(w["breachStatus.\(f.status)"] ?? f.status) · \(w["assessBy"] ?? "") \(assessBy)",
                description: f.description ?? "",
                children: f.children.map { c in
                    BreachChild(
                        label: c.childName ?? (w["aChild"] ?? ""),
                        subject: c.subject,
                        information: ConsentSummary.list(c.information.map(\.label), joiner: w["and"] ?? "and"),
                        sensitive: c.sensitive.isEmpty
                            ? nil : ConsentSummary.list(c.sensitive.map(\.label), joiner: w["and"] ?? "and"),
                        sent: c.noticeSent != nil
                    )
                },
                childCount: f.children.count,
                assessed: f.assessment != nil,
                notifiable: f.assessment?.seriousHarm == true,
                commissioner: f.commissionerNotified != nil,
                factors: BreachAssessed.Factor.allCases.map {
                    Choice(code: $0.rawValue, label: $0.words, checked: false)
                },
                seriousHarmError: errors.message(for: "seriousHarm", words: w),
                referenceError: errors.message(for: "reference", words: w)
            )
        )
    }

    func breachReport(_ viewer: Viewer, _ id: String) throws -> Response {
        _ = try viewer.require(.handleBreaches)
        let report = BreachReport(try breachFacts(id))
        return render(
            viewer,
            .document,
            title: viewer.w["breachReport"] ?? "",
            DocumentModel(
                sections: [
                    DocumentSection(lang: "en", title: "Privacy breach report", note: nil, paragraphs: [])
                ],
                rows: report.lines.map { DocumentParagraph(heading: $0.0, text: $0.1) },
                back: "/breaches/\(id)",
                backLabel: viewer.w["backToBreach"] ?? ""
            )
        )
    }

    func breachNotice(_ request: Request, _ viewer: Viewer, _ id: String, _ subject: String) throws -> Response {
        _ = try viewer.require(.handleBreaches)
        let languages = DocumentLanguage.choice(Form(request.uri.query ?? "")["lang"]) ?? [.en]
        guard let notice = NoticeDocument.breach(try breachFacts(id), subject: subject, languages: languages) else {
            throw PageError.notFound
        }
        return document(viewer, notice, back: ("/breaches/\(id)", "backToBreach"))
    }

    struct StepFields: Decodable {
        var seriousHarm: String?
        var factors: [String]?
        var reasons: String?
        var reference: String?
    }

    /// The steps after recording: the assessment, the Commissioner's reference, a child's notice sent.
    func breachStep(
        _ request: Request,
        _ viewer: Viewer,
        _ id: String,
        _ step: String,
        _ submission: Submission
    ) async throws -> Outcome {
        let caller = try viewer.require(.handleBreaches)
        let form: StepFields = try submission.decode()
        _ = try breachFacts(id)
        do {
            switch step {
            case "assessment":
                guard form.seriousHarm != nil else {
                    return .shown(try breach(nil, viewer, id, errors: [FieldError("seriousHarm", "missing")]))
                }
                var input = BreachAssessmentInput(seriousHarm: form.seriousHarm == "yes", factors: [], reasons: "")
                input.factors = form.factors ?? []
                input.reasons = form.reasons.map(FreeText.trimmed) ?? ""
                _ = try await services.breaches.assess(id, input, actor: caller.actor)
            case "commissioner":
                _ = try await services.breaches.commissionerNotified(
                    id,
                    CommissionerNotificationInput(reference: form.reference ?? ""),
                    actor: caller.actor
                )
            case let s where s.hasPrefix("notice-"):
                _ = try await services.breaches.noticeSent(
                    id,
                    subject: String(s.dropFirst("notice-".count)),
                    BreachNoticeInput(method: .email, languages: ["en", "mi"]),
                    actor: caller.actor
                )
            default:
                throw PageError.notFound
            }
        } catch let error as TiakiError where error.code == .unknownSubject {
            throw PageError.notFound
        } catch let error as TiakiError where error.code == .conflict {
            return .recorded("/breaches/\(id)?recorded=breach-step&already=1")
        } catch let error as TiakiError where error.isFieldProblem {
            return .shown(try breach(nil, viewer, id, errors: [FieldError(error, fallback: step)]))
        }
        return .recorded("/breaches/\(id)?recorded=breach-step")
    }
}
