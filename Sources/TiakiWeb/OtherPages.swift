import Dispatch
import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

extension WebPages {
    // MARK: Privacy officers

    /// The child's full report (IPP 6) inside the page's frame, or to download as one printable file.
    func reportPage(_ viewer: Viewer, _ id: String, download: Bool) throws -> Response {
        let caller = try viewer.require(.privacyOfficer)
        let subject = try services.subject(id, visibleTo: caller)
        let core = services.core
        let breaches = services.subjects.breachEntries(of: subject.id)
        guard
            let report = try SubjectReport.load(
                subject: subject.id,
                from: services.ledger,
                also: breaches,
                asOf: core.today,
                unseal: { try? core.unseal($0, subject: subject.id) }
            )
        else { throw PageError.notFound }
        if download {
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"report-\(subject.id).html\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: report.html))
            )
        }
        return render(
            viewer,
            "report",
            title: viewer.w["report"] ?? "",
            [
                "reportBody": report.htmlBody, "subject": subject.id,
            ]
        )
    }

    /// The findings over the whole ledger, grouped by severity, each with its sentence and links.
    func findings(_ viewer: Viewer) async throws -> Response {
        _ = try viewer.require(.privacyOfficer)
        var options = AuditOptions(asOf: services.core.today)
        options.now = Moment(Date())
        guard
            let result = await findingsProjection.result(
                options: options,
                covering: services.ledger.checkpoint.size,
                timeout: .seconds(20)
            )
        else {
            return message(
                viewer,
                headingKey: "findingsTitle",
                text: "\(viewer.w["findingsNotYet"] ?? "") (\(findingsProjection.unavailable))",
                status: .serviceUnavailable,
                link: ("/findings", "tryAgain")
            )
        }
        let w = viewer.w
        let groups = Severity.allCases.compactMap { severity -> [String: Any]? in
            let items = result.findings.filter { $0.severity == severity }
            guard !items.isEmpty else { return nil }
            return [
                "title": w["severity.\(severity.rawValue)"] ?? severity.rawValue, "count": items.count,
                "items": items.map { f -> [String: Any] in
                    [
                        "summary": f.summary, "kind": f.kind.rawValue, "subject": maybe(f.subject),
                        "entries": f.indexes.map(String.init).joined(separator: ", "),
                    ]
                },
            ]
        }
        return render(
            viewer,
            "findings",
            title: w["findingsTitle"] ?? "",
            [
                "groups": groups, "hasGroups": !groups.isEmpty,
                "summary": "\(result.findings.count) · \(services.core.today.plain)",
            ]
        )
    }

    // MARK: Facilitators

    /// For each organisation and purpose, how many children have a consent in force that covers it. Never a name.
    func coverage(_ viewer: Viewer) throws -> Response {
        _ = try viewer.require(.facilitator)
        let v = services.core.vocabulary
        let purposes = v.codes(.purpose)
        let today = services.core.today
        let (rows, _) = services.core.read { state -> ([[String: Any]], Int) in
            var counts: [String: [String: Set<String>]] = [:]
            for c in state.consents.values where c.isCurrent(on: today) {
                for p in purposes {
                    guard let bit = state.codes.bit(p, .purpose), c.purposes.contains(bit) else { continue }
                    counts[c.recordedBy, default: [:]][p, default: []].insert(c.subject)
                }
            }
            let rows = counts.keys.sorted().map { org -> [String: Any] in
                [
                    "name": state.organisations[org]?.name ?? org,
                    "counts": purposes.map { String(counts[org]?[$0]?.count ?? 0) },
                ]
            }
            return (rows, counts.count)
        }
        return render(
            viewer,
            "coverage",
            title: viewer.w["coverageTitle"] ?? "",
            [
                "purposes": purposes.map { v.label($0, in: .purpose, language: viewer.language) }, "rows": rows,
            ]
        )
    }

    // MARK: Auditors

    func ledger(_ viewer: Viewer) throws -> Response {
        _ = try viewer.require(.auditor)
        let checkpoint = services.ledger.checkpoint
        return render(
            viewer,
            "ledger",
            title: viewer.w["ledgerTitle"] ?? "",
            [
                "size": checkpoint.size, "checkpoint": checkpoint.text, "vkey": services.ledger.verifier.vkey,
                "folder": "tiaki-export-\(checkpoint.size)",
            ]
        )
    }

    // MARK: Admins

    func admin(
        _ viewer: Viewer,
        token: String?,
        errors: [FieldError],
        values: Form = Form(""),
        status: HTTPResponse.Status = .ok
    ) throws
        -> Response
    {
        _ = try viewer.require(.admin)
        let (orgs, credentials) = services.core.read { s in
            (
                s.organisations.values.sorted { $0.registered < $1.registered }.map {
                    ["id": $0.id, "name": $0.name, "kind": $0.kind]
                },
                s.credentials.values.sorted { $0.issued < $1.issued }.map {
                    ["id": $0.id, "org": $0.org, "role": $0.role, "revoked": $0.revoked != nil] as [String: Any]
                }
            )
        }
        return render(
            viewer,
            "admin",
            title: viewer.w["adminTitle"] ?? "",
            status: status,
            [
                "orgs": orgs, "credentials": credentials, "roles": Role.allCases.map(\.rawValue),
                "kinds": services.core.vocabulary.codes(.organisationKind).map {
                    [
                        "code": $0, "selected": values["kind"] == $0,
                        "label": services.core.vocabulary.label($0, in: .organisationKind, language: viewer.language),
                    ] as [String: Any]
                },
                "v": [
                    "id": values["id"] ?? "", "name": values["name"] ?? "", "contact": values["contact"] ?? "",
                    "law": values["law"] ?? "",
                ],
                "newToken": maybe(token), "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    func issue(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let caller = try viewer.require(.admin)
        let form = try await form(request, viewer)
        do {
            var input = CredentialInput(org: form["org"] ?? "", role: .member)
            input.role = form["role"] ?? ""  // as given: the service refuses an unknown role in its own words
            let issued = try await services.credentials.issue(input, actor: caller.actor)
            return try admin(viewer, token: issued.token, errors: [])
        } catch let error as TiakiError where error.code != .unavailable && error.code != .internal {
            return try admin(
                viewer,
                token: nil,
                errors: [FieldError(field: error.field ?? "org", message: error.message)],
                status: .badRequest
            )
        }
    }

    func registerOrganisation(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let caller = try viewer.require(.admin)
        let form = try await form(request, viewer)
        do {
            _ = try await services.organisations.register(
                OrganisationInput(
                    id: form["id"] ?? "",
                    kind: form["kind"] ?? "",
                    name: form["name"] ?? "",
                    contact: form["contact"],
                    law: form["law"]
                ),
                actor: caller.actor
            )
            return Self.redirect("/admin")
        } catch let error as TiakiError where error.code != .unavailable && error.code != .internal {
            return try admin(
                viewer,
                token: nil,
                errors: [FieldError(field: error.field ?? "id", message: error.message)],
                values: form,
                status: error.code == .conflict ? .conflict : .badRequest
            )
        }
    }

    func revoke(_ request: Request, _ viewer: Viewer, _ id: String) async throws -> Response {
        let caller = try viewer.require(.admin)
        _ = try await form(request, viewer)
        do {
            _ = try await services.credentials.revoke(id: id, actor: caller.actor)
        } catch let error as TiakiError where error.code == .unknownCredential {
            throw PageError.notFound
        }
        return Self.redirect("/admin")
    }
}
