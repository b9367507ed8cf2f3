import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

/// The duties after a share, on pages: a member's notices (IPP 3A notices it owes, withdrawals to acknowledge,
/// consents to renew) and the privacy officer's breach register. The services decide; these only draw and ask.
extension WebPages {
    // MARK: A member's notices

    func notices(_ viewer: Viewer) throws -> Response {
        let caller = try viewer.require(.member)
        let list = try services.notices.list(
            for: caller.org,
            on: services.core.today,
            filter: .due,
            limit: NoticeList.defaultLimit
        )
        let csrf = viewer.session?.csrf ?? ""
        return render(
            viewer,
            "notices",
            title: viewer.w["noticesTitle"] ?? "",
            [
                "collections": list.collections.items.map {
                    ["disclosure": $0.disclosure, "action": $0.action, "csrf": csrf]
                },
                "hasCollections": !list.collections.items.isEmpty, "collectionsTotal": list.collections.total,
                "withdrawals": list.withdrawals.items.map {
                    ["consent": $0.consent, "action": $0.action, "csrf": csrf]
                },
                "hasWithdrawals": !list.withdrawals.items.isEmpty, "withdrawalsTotal": list.withdrawals.total,
                "renewals": list.renewals.items.map { ["action": $0.action, "subject": $0.subject] },
                "hasRenewals": !list.renewals.items.isEmpty, "renewalsTotal": list.renewals.total,
            ]
        )
    }

    /// The IPP 3A notice itself, as a printable document in the languages asked for.
    func noticeDocument(_ request: Request, _ viewer: Viewer, _ disclosure: Int) throws -> Response {
        let caller = try viewer.require(.member, .privacyOfficer)
        let languages = DocumentLanguage.choice(Form(request.uri.query ?? "")["lang"]) ?? [.en]
        let facts: CollectionNoticeFacts
        do {
            facts = try services.notices.collectionNoticeFacts(disclosure, for: caller)
        } catch let error as TiakiError where error.code == .unknownDisclosure {
            throw PageError.notFound
        }
        return Self.document(NoticeDocument.collection(facts, languages: languages).html)
    }

    static func document(_ html: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }

    func noticeSent(_ request: Request, _ viewer: Viewer, _ disclosure: Int) async throws -> Response {
        let caller = try viewer.require(.member)
        let form = try await form(request, viewer)
        var input = NoticeSentInput(disclosures: [disclosure], method: .email, languages: ["en", "mi"])
        input.method = form["method"] ?? ""
        do {
            _ = try await services.notices.recordSent(input, actor: caller.actor)
        } catch let error as TiakiError where error.code == .unknownDisclosure {
            throw PageError.notFound
        } catch let error as TiakiError where error.code == .conflict || error.code == .invalid {
            return problem(viewer, error.message, back: "/notices")
        }
        return Self.redirect("/notices")
    }

    func acknowledge(_ request: Request, _ viewer: Viewer, _ consent: Int) async throws -> Response {
        let caller = try viewer.require(.member)
        _ = try await form(request, viewer)
        do {
            _ = try await services.notices.acknowledgeWithdrawal(consent, date: nil, actor: caller.actor)
        } catch let error as TiakiError where error.code == .unknownConsent {
            throw PageError.notFound
        } catch let error as TiakiError where error.code == .conflict || error.code == .invalid {
            return problem(viewer, error.message, back: "/notices")
        }
        return Self.redirect("/notices")
    }

    func problem(_ viewer: Viewer, _ text: String, back: String) -> Response {
        message(viewer, headingKey: "thereIsAProblem", text: text, status: .badRequest, link: (back, "home"))
    }

    // MARK: The breach register

    func breaches(
        _ viewer: Viewer,
        values: Form,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws
        -> Response
    {
        _ = try viewer.require(.privacyOfficer)
        let list = services.breaches.list()
        let orgs = services.core.read { $0.organisations.values.sorted { $0.name < $1.name } }
        return render(
            viewer,
            "breaches",
            title: viewer.w["breachesTitle"] ?? "",
            status: status,
            [
                "breaches": list.map { b -> [String: Any] in
                    [
                        "breach": b.breach, "found": Moment(b.found)?.plainNZ ?? b.found, "children": b.children,
                        "status": b.status, "overdue": b.overdue,
                    ]
                },
                "hasBreaches": !list.isEmpty, "orgs": orgs.map { ["id": $0.id, "name": $0.name] },
                "v": [
                    "found": values["found"] ?? "", "description": values["description"] ?? "",
                    "from": values["from"] ?? "", "to": values["to"] ?? "",
                ],
                "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    func recordBreach(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let caller = try viewer.require(.privacyOfficer)
        let form = try await form(request, viewer)
        do {
            let recorded = try await services.breaches.record(
                BreachInput(
                    found: form["found"] ?? "",
                    description: form["description"] ?? "",
                    recipient: form["recipient"],
                    from: form["from"],
                    to: form["to"]
                ),
                actor: caller.actor
            )
            guard let b = recorded.entry.body as? BreachRecorded else { throw PageError.notFound }
            return Self.redirect("/breaches/\(b.breach)")
        } catch let error as TiakiError where error.code != .unavailable && error.code != .internal {
            return try breaches(
                viewer,
                values: form,
                errors: [FieldError(field: error.field ?? "found", message: error.message)],
                status: .badRequest
            )
        }
    }

    func breachFacts(_ id: String) throws -> BreachFacts {
        do {
            return try services.breaches.facts(id)
        } catch let error as TiakiError where error.code == .unknownBreach {
            throw PageError.notFound
        }
    }

    func breach(
        _ viewer: Viewer,
        _ id: String,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws
        -> Response
    {
        _ = try viewer.require(.privacyOfficer)
        let f = try breachFacts(id)
        let csrf = viewer.session?.csrf ?? ""
        let statusLine =
            "\(viewer.w["found"] ?? "") \(Moment(f.found)?.plainNZ ?? f.found) · \(f.status) · \(viewer.w["assess"] ?? "") ≤ \(Moment(f.assessBy)?.plainNZ ?? f.assessBy)"
        return render(
            viewer,
            "breach",
            title: "\(viewer.w["breach"] ?? "") \(f.breach)",
            status: status,
            [
                "f": ["breach": f.breach, "description": f.description ?? ""], "statusLine": statusLine,
                "childCount": f.children.count,
                "children": f.children.map { c -> [String: Any] in
                    [
                        "label": c.childName ?? c.subject, "subject": c.subject, "breach": f.breach, "csrf": csrf,
                        "information": ConsentSummary.list(c.information.map(\.label)),
                        "sensitive": maybe(c.sensitive.isEmpty ? nil : ConsentSummary.list(c.sensitive.map(\.label))),
                        "sent": c.noticeSent != nil,
                    ]
                },
                "assessed": f.assessment != nil, "notifiable": f.assessment?.seriousHarm == true,
                "commissioner": f.commissionerNotified != nil,
                "factors": BreachAssessed.Factor.allCases.map { ["code": $0.rawValue, "label": $0.words] },
                "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    func breachReport(_ viewer: Viewer, _ id: String) throws -> Response {
        _ = try viewer.require(.privacyOfficer)
        return Self.document(BreachReport(try breachFacts(id)).html)
    }

    func breachNotice(_ request: Request, _ viewer: Viewer, _ id: String, _ subject: String) throws -> Response {
        _ = try viewer.require(.privacyOfficer)
        let languages = DocumentLanguage.choice(Form(request.uri.query ?? "")["lang"]) ?? [.en]
        guard let document = NoticeDocument.breach(try breachFacts(id), subject: subject, languages: languages) else {
            throw PageError.notFound
        }
        return Self.document(document.html)
    }

    /// The steps after recording: the assessment, the Commissioner's reference, a child's notice sent.
    func breachStep(_ request: Request, _ viewer: Viewer, _ id: String, _ step: String) async throws -> Response {
        let caller = try viewer.require(.privacyOfficer)
        let form = try await form(request, viewer)
        _ = try breachFacts(id)
        do {
            switch step {
            case "assessment":
                var input = BreachAssessmentInput(seriousHarm: form["seriousHarm"] == "yes", factors: [], reasons: "")
                input.factors = form.all("factors")
                input.reasons = form["reasons"] ?? ""
                guard form["seriousHarm"] != nil else {
                    throw TiakiError(.invalid, "say whether it is likely to cause serious harm", field: "seriousHarm")
                }
                _ = try await services.breaches.assess(id, input, actor: caller.actor)
            case "commissioner":
                _ = try await services.breaches.commissionerNotified(
                    id,
                    CommissionerNotificationInput(reference: form["reference"] ?? ""),
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
        } catch let error as TiakiError where error.code != .unavailable && error.code != .internal {
            return try breach(
                viewer,
                id,
                errors: [FieldError(field: error.field ?? step, message: error.message)],
                status: .badRequest
            )
        }
        return Self.redirect("/breaches/\(id)")
    }
}
