import Foundation
import HTTPTypes
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// What privacy officers act on: the findings, a child's full report (IPP 6), reviewing a share, and erasing a
/// child's personal details.
extension WebPages {
    func addPrivacyRoutes(to routes: RouteCollection<Context>) {
        get(routes, "findings") { request, _, viewer in try await findings(request, viewer) }
        get(routes, "children/:subject/report") { _, context, viewer in
            try reportPage(viewer, try Self.parameter(context, "subject"), download: false)
        }
        get(routes, "children/:subject/report.html") { _, context, viewer in
            try reportPage(viewer, try Self.parameter(context, "subject"), download: true)
        }
        post(routes, "disclosures/:disclosure/review") { _, context, viewer, submission in
            try await review(viewer, try Self.index(context, "disclosure"), submission)
        }
        get(routes, "children/:subject/erase") { request, context, viewer in
            let (values, errors, token) = draft(request, viewer, EraseFields.self)
            return try erasure(
                viewer,
                try Self.parameter(context, "subject"),
                values ?? EraseFields(),
                errors: errors,
                token: token
            )
        }
        post(
            routes,
            "children/:subject/erase",
            redraw: { viewer, submission, errors in
                try erasure(
                    viewer,
                    viewer.subjectInPath,
                    (try? submission.decode()) ?? EraseFields(),
                    errors: errors,
                    token: submission.token
                )
            },
            submit: { _, context, viewer, submission in
                try await erase(viewer, try Self.parameter(context, "subject"), submission)
            }
        )
    }

    // MARK: The child's report

    struct ReportModel: Encodable {
        let body: String
        let subject: String
    }

    /// The child's full report (IPP 6) inside the page's frame, or to download as one printable file.
    func reportPage(_ viewer: Viewer, _ id: String, download: Bool) throws -> Response {
        let caller = try viewer.require(.readReport)
        let subject = try services.subject(id, visibleTo: caller)
        let core = services.core
        guard
            let report = try SubjectReport.load(
                subject: subject.id,
                from: services.ledger,
                also: services.subjects.breachEntries(of: subject.id),
                asOf: core.today,
                unseal: { [open = try? core.unsealer(subject: subject.id)] in (try? open?($0)) ?? nil }
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
            .report,
            title: viewer.w["report"] ?? "",
            ReportModel(body: report.htmlBody, subject: subject.id)
        )
    }

    // MARK: Findings

    struct FindingGroup: Encodable {
        let title: String
        let count: Int
        let items: [FindingItem]
    }

    struct FindingItem: Encodable {
        let title: String
        let detail: String
        let when: String?
        let action: String?
        let actionLabel: String?
    }

    struct FindingsModel: Encodable {
        let summary: String
        let banner: String?
        let groups: [FindingGroup]
    }

    /// The findings over the whole ledger, grouped by how soon to act, each in plain words with a link to the page
    /// where it is acted on.
    func findings(_ request: Request, _ viewer: Viewer) async throws -> Response {
        _ = try viewer.require(.readFindings)
        var options = AuditOptions(asOf: services.core.today)
        options.now = services.core.now
        guard
            let result = await findingsProjection.result(
                options: options,
                covering: services.ledger.checkpoint.size,
                timeout: .seconds(20)
            )
        else {
            return message(
                viewer,
                heading: "findingsTitle",
                text: "findingsNotYet",
                status: .serviceUnavailable,
                link: ("/findings", "tryAgain")
            )
        }
        let w = viewer.w
        let state = services.core.snapshot
        let groups = Severity.allCases.compactMap { severity -> FindingGroup? in
            let items = result.findings.filter { $0.severity == severity }
            guard !items.isEmpty else { return nil }
            return FindingGroup(
                title: w["severity.\(severity.rawValue)"] ?? severity.rawValue,
                count: items.count,
                items: items.map { plain($0, state: state, viewer: viewer) }
            )
        }
        let count = result.findings.count
        return render(
            viewer,
            .findings,
            title: w["findingsTitle"] ?? "",
            FindingsModel(
                summary: (w[count == 1 ? "findingsOne" : "findingsMany"] ?? "")
                    .replacingOccurrences(of: "{n}", with: String(count))
                    .replacingOccurrences(of: "{day}", with: viewer.day(services.core.today)),
                banner: banner(request, viewer),
                groups: groups
            )
        )
    }

    /// A finding as a privacy officer reads it: what it is, what happened in their words (organisations by name,
    /// days in New Zealand), and the page where it is done.
    func plain(_ f: Finding, state: ConsentState, viewer: Viewer) -> FindingItem {
        let w = viewer.w
        var detail = f.summary
        // The routes the sentence names are the API's: the link below is the page's.
        while let open = detail.range(of: " ("), let close = detail[open.upperBound...].range(of: ")"),
            detail[open.upperBound..<close.lowerBound].hasPrefix("POST ")
                || detail[open.upperBound..<close.lowerBound].hasPrefix("GET ")
        {
            detail.removeSubrange(open.lowerBound..<close.upperBound)
        }
        for (id, org) in state.organisations { detail = detail.replacingOccurrences(of: id, with: org.name) }
        if let subject = f.subject {
            detail = detail.replacingOccurrences(of: "child \(subject)", with: w["theChild"] ?? "the child")
            detail = detail.replacingOccurrences(of: subject, with: w["theChild"] ?? "the child")
        }
        detail = Self.plainDays(detail, viewer)
        let first = f.indexes.first
        let child = f.subject.map { "/children/\($0)" }
        let action: (String, String)? =
            switch f.kind {
            case .disclosureWithoutPermit, .disclosureAfterWithdrawal, .disclosureAfterRetention,
                .disclosureBeyondDecision, .disclosureAfterRefusal, .seriousThreatReviewPending:
                child.map { ($0 + "#d-\(first ?? 0)", "action.review") }
            case .retentionOverdue: child.map { ($0 + "/erase", "action.erase") }
            case .consentExpiring, .withdrawalRecipientsToTell, .withdrawalNotAcknowledged,
                .indirectCollectionNoticeOverdue, .credentialUsedAfterRevocation:
                child.map { ($0, "action.child") }
            case .breachAssessmentDue, .breachNotificationOverdue:
                state.breaches.values.first { $0.index == first }.map { ("/breaches/\($0.id)", "action.breach") }
            case .decisionReplayMismatch, .decisionPolicyUnknown, .unreadableEntry: ("/ledger", "action.ledger")
            }
        return FindingItem(
            title: w["finding.\(f.kind.rawValue)"] ?? f.kind.meaning,
            detail: detail,
            when: f.time.flatMap(Moment.init).map { viewer.day(local.day($0)) },
            action: action?.0,
            actionLabel: action.flatMap { w[$0.1] }
        )
    }

    /// ISO days in a sentence (`2026-12-07`) as people write them.
    static func plainDays(_ text: String, _ viewer: Viewer) -> String {
        var out = ""
        var rest = Substring(text)
        while let start = rest.firstIndex(where: \.isNumber) {
            out += rest[..<start]
            let candidate = rest[start...].prefix(10)
            if candidate.count == 10, let day = Day(String(candidate)) {
                out += viewer.day(day)
                rest = rest[rest.index(start, offsetBy: 10)...]
            } else {
                let digits = rest[start...].prefix { $0.isNumber }
                out += digits
                rest = rest[digits.endIndex...]
            }
        }
        return out + rest
    }

    // MARK: Reviewing a share

    struct ReviewFields: Decodable {
        var outcome: String?
        var notes: String?
    }

    func review(_ viewer: Viewer, _ index: Int, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.reviewDisclosure)
        let form: ReviewFields = try submission.decode()
        guard index >= 0, let entry = try services.core.entry(at: UInt64(index)), entry.body is DisclosureRecord,
            let subject = entry.subject
        else { throw PageError.notFound }
        _ = try services.subject(subject, visibleTo: caller)
        guard let outcome = DisclosureReviewed.Outcome(rawValue: form.outcome ?? "") else {
            return .shown(
                message(
                    viewer,
                    heading: "thereIsAProblem",
                    text: "error.outcome",
                    status: .badRequest,
                    link: ("/children/\(subject)#d-\(index)", "backToChild")
                )
            )
        }
        do {
            _ = try await services.disclosures.review(
                UInt64(index),
                ReviewInput(
                    outcome: outcome,
                    notes: form.notes.map(FreeText.trimmed).flatMap { $0.isEmpty ? nil : $0 }
                ),
                actor: caller.actor
            )
        } catch let error as TiakiError where error.code == .conflict {
            return .recorded("/children/\(subject)?recorded=review&already=1#d-\(index)")
        }
        return .recorded("/children/\(subject)?recorded=review#d-\(index)")
    }

    // MARK: Erasing a child's personal details

    struct EraseFields: Codable {
        var reason: String?
        var confirm: String?
    }

    struct EraseModel: Encodable {
        let subject: String
        let once: String
        let child: String
        let errors: [ErrorLine]
        let reasons: [Choice]
        let reasonError: String?
        let confirmError: String?
    }

    /// The confirmation: what erasure does, why it is being done, and a box to tick.
    func erasure(
        _ viewer: Viewer,
        _ id: String,
        _ v: EraseFields,
        errors: [FieldError],
        token: String
    ) throws
        -> Response
    {
        let caller = try viewer.require(.eraseChild)
        let subject = try services.subject(id, visibleTo: caller)
        let w = viewer.w
        return render(
            viewer,
            .erase,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["eraseTitle"] ?? ""),
            EraseModel(
                subject: subject.id,
                once: token,
                child: try services.subjects.name(of: subject.id) ?? (w["theChild"] ?? ""),
                errors: errors.lines(w),
                reasons: SubjectErased.Reason.allCases.map {
                    Choice(
                        code: $0.rawValue,
                        label: w["reason.\($0.rawValue)"] ?? $0.rawValue,
                        checked: v.reason == $0.rawValue
                    )
                },
                reasonError: errors.message(for: "reason", words: w),
                confirmError: errors.message(for: "confirm", words: w)
            )
        )
    }

    func erase(_ viewer: Viewer, _ id: String, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.eraseChild)
        let subject = try services.subject(id, visibleTo: caller)
        let form: EraseFields = try submission.decode()
        var errors: [FieldError] = []
        let reason = SubjectErased.Reason(rawValue: form.reason ?? "")
        if reason == nil { errors.append(FieldError("reason", "missing")) }
        if form.confirm != "yes" { errors.append(FieldError("confirm", "missing")) }
        guard let reason, errors.isEmpty else {
            return try problems(viewer, submission, errors, at: "/children/\(subject.id)/erase") {
                try erasure($0, subject.id, form, errors: errors, token: submission.token)
            }
        }
        _ = try await services.subjects.erase(subject.id, ErasureInput(reason: reason), actor: caller.actor)
        return .recorded("/findings?recorded=erasure")
    }
}
