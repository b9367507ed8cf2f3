import Foundation
import HTTPTypes
import Hummingbird
import TiakiConsent
import TiakiModel

/// What school staff and privacy officers record about a child besides consents and shares: that the whānau
/// declined, a privacy officer's review of a share, and the erasure of the child's personal details.
extension WebPages {
    // MARK: The whānau declined (member)

    func refusalForm(
        _ viewer: Viewer,
        subject id: String,
        values: Form,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let v = services.core.vocabulary
        let w = viewer.w
        func group(_ d: Vocabulary.Dimension, _ name: String, _ legend: String) -> [String: Any] {
            let chosen = Set(values.all(name))
            return [
                "anchor": "f-\(name)", "legend": w[legend] ?? legend,
                "error": maybe(errors.first { $0.anchor == "f-\(name)" }.map { "\($0.field): \($0.message)" }),
                "choices": v.codes(d).map { code -> [String: Any] in
                    [
                        "id": "c-\(name)-\(code)", "name": name, "code": code,
                        "label": v.label(code, in: d, language: viewer.language), "checked": chosen.contains(code),
                    ]
                },
            ]
        }
        return render(
            viewer,
            "refusal",
            title: w["refusalTitle"] ?? "",
            status: status,
            [
                "subject": subject.id,
                "groups": [
                    group(.purpose, "purposes", "askedPurposes"),
                    group(.information, "information", "askedInformation"),
                    group(.consenter, "by", "declinedBy"),
                ],
                "v": [
                    "informedDate": values["informedDate"] ?? services.core.today.description,
                    "informedMethod": values["informedMethod"] ?? "", "reason": values["reason"] ?? "",
                    "en": values["informedLanguage"] != "mi", "mi": values["informedLanguage"] == "mi",
                ] as [String: Any],
                "informedError": maybe(errors.first { $0.anchor == "f-informed" }.map { "\($0.field): \($0.message)" }),
                "reasonError": maybe(errors.first { $0.field == "reason" }.map(\.message)),
                "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    func recordRefusal(_ request: Request, _ viewer: Viewer, _ id: String) async throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let form = try await form(request, viewer)
        var errors: [FieldError] = []
        for (name, what) in [("purposes", "what they were asked"), ("information", "the information"), ("by", "who")]
        where form.all(name).isEmpty {
            errors.append(FieldError(field: name, message: "choose \(what)"))
        }
        let informed = form["informedMethod"].map {
            ConsentTerms.Informed(
                date: form["informedDate"] ?? services.core.today.description,
                noticeVersion: "tiaki-sheet-1",
                language: form["informedLanguage"] == "mi" ? "mi" : "en",
                method: $0
            )
        }
        if errors.isEmpty {
            do {
                _ = try await services.consents.refuse(
                    subject: subject.id,
                    RefusalInput(
                        purposes: form.all("purposes"),
                        information: form.all("information"),
                        by: form.all("by"),
                        date: informed?.date,
                        informed: informed,
                        reason: form["reason"]
                    ),
                    actor: caller.actor
                )
                return Self.redirect("/children/\(subject.id)")
            } catch let error as TiakiError where error.code == .invalid || error.code == .notInVocabulary {
                errors.append(FieldError(field: error.field ?? "purposes", message: error.message))
            }
        }
        return try refusalForm(viewer, subject: subject.id, values: form, errors: errors, status: .badRequest)
    }

    // MARK: A privacy officer reviews a share

    func review(_ request: Request, _ viewer: Viewer, _ index: Int) async throws -> Response {
        let caller = try viewer.require(.privacyOfficer)
        let form = try await form(request, viewer)
        guard index >= 0, let entry = try services.core.entry(at: UInt64(index)), entry.body is DisclosureRecord,
            let subject = entry.subject
        else { throw PageError.notFound }
        _ = try services.subject(subject, visibleTo: caller)
        let outcome = DisclosureReviewed.Outcome(rawValue: form["outcome"] ?? "")
        do {
            guard let outcome else {
                throw TiakiError(.invalid, "choose justified or not justified", field: "outcome")
            }
            _ = try await services.disclosures.review(
                UInt64(index),
                ReviewInput(outcome: outcome, notes: form["notes"]),
                actor: caller.actor
            )
        } catch let error as TiakiError where error.code == .invalid || error.code == .conflict {
            return message(
                viewer,
                headingKey: "thereIsAProblem",
                text: "\(error.field ?? "outcome"): \(error.message)",
                status: error.code == .conflict ? .conflict : .badRequest,
                link: ("/children/\(subject)#d-\(index)", "backToChild")
            )
        }
        return Self.redirect("/children/\(subject)#d-\(index)")
    }

    // MARK: Erasing a child's personal details (privacy officer)

    /// The confirmation: what erasure does, why it is being done, and a box to tick.
    func erasure(
        _ viewer: Viewer,
        _ id: String,
        values: Form,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let caller = try viewer.require(.privacyOfficer)
        let subject = try services.subject(id, visibleTo: caller)
        let w = viewer.w
        return render(
            viewer,
            "erase",
            title: w["eraseTitle"] ?? "",
            status: status,
            [
                "subject": subject.id,
                "reasons": SubjectErased.Reason.allCases.map {
                    [
                        "code": $0.rawValue, "label": w["reason.\($0.rawValue)"] ?? $0.rawValue,
                        "checked": values["reason"] == $0.rawValue,
                    ] as [String: Any]
                },
                "confirmError": maybe(errors.first { $0.field == "confirm" }.map(\.message)),
                "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    func erase(_ request: Request, _ viewer: Viewer, _ id: String) async throws -> Response {
        let caller = try viewer.require(.privacyOfficer)
        let subject = try services.subject(id, visibleTo: caller)
        let form = try await form(request, viewer)
        var errors: [FieldError] = []
        let reason = SubjectErased.Reason(rawValue: form["reason"] ?? "")
        if reason == nil { errors.append(FieldError(field: "reason", message: "choose why")) }
        if form["confirm"] != "yes" {
            errors.append(FieldError(field: "confirm", message: viewer.w["mustConfirm"] ?? ""))
        }
        guard let reason, errors.isEmpty else {
            return try erasure(viewer, subject.id, values: form, errors: errors, status: .badRequest)
        }
        _ = try await services.subjects.erase(subject.id, ErasureInput(reason: reason), actor: caller.actor)
        return message(
            viewer,
            headingKey: "erasedTitle",
            textKey: "erased",
            status: .ok,
            link: ("/findings", "nav.findings")
        )
    }
}
