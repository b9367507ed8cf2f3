import Foundation
import HTTPTypes
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiModel

/// "May we share?": the question, its answer (recorded, and shown at an address of its own), and recording the
/// share that the answer permitted.
extension WebPages {
    func addShareRoutes(to routes: RouteCollection<Context>) {
        get(routes, "children/:subject/share") { request, context, viewer in
            let (values, errors, token) = draft(request, viewer, ShareFields.self)
            return try shareForm(
                viewer,
                try Self.parameter(context, "subject"),
                values ?? ShareFields(),
                errors: errors,
                token: token
            )
        }
        post(
            routes,
            "children/:subject/share",
            redraw: { viewer, submission, errors in
                try shareForm(
                    viewer,
                    viewer.subjectInPath,
                    (try? submission.decode()) ?? ShareFields(),
                    errors: errors,
                    token: submission.token
                )
            },
            submit: { _, context, viewer, submission in
                try await ask(viewer, try Self.parameter(context, "subject"), submission)
            }
        )
        get(routes, "children/:subject/decisions/:decision") { request, context, viewer in
            try answer(request, viewer, try Self.parameter(context, "subject"), try Self.index(context, "decision"))
        }
        post(routes, "children/:subject/disclosures") { _, context, viewer, submission in
            try await recordShare(viewer, try Self.parameter(context, "subject"), submission)
        }
    }

    struct ShareFields: Codable {
        var purpose: String?
        var recipient: String?
        var channel: String?
        var storageRegion: String?
        var information: [String]?
        var seriousThreat: String?
    }

    struct Select: Encodable {
        let id: String
        let name: String
        let label: String
        let hint: String?
        let error: String?
        let options: [Choice]
    }

    struct ShareModel: Encodable {
        let subject: String
        let once: String
        let errors: [ErrorLine]
        let selects: [Select]
        let information: [Choice]
        let informationError: String?
        let seriousThreat: Bool
    }

    func shareForm(
        _ viewer: Viewer,
        _ id: String,
        _ v: ShareFields,
        errors: [FieldError],
        token: String
    ) throws -> Response {
        let caller = try viewer.require(.decide)
        let subject = try services.subject(id, visibleTo: caller)
        let vocabulary = services.core.vocabulary
        let w = viewer.w
        let orgs = services.core.read { $0.organisations.values.sorted { $0.name < $1.name } }
            .filter { $0.id != caller.org }
        func select(_ name: String, _ label: String, hint: String? = nil, _ options: [(String, String)]) -> Select {
            let chosen =
                name == "purpose"
                ? v.purpose : name == "recipient" ? v.recipient : name == "channel" ? v.channel : v.storageRegion
            // No choice is made for the reader: the first option asks them to choose.
            return Select(
                id: FieldError.anchor(name),
                name: name,
                label: w[label] ?? label,
                hint: hint.flatMap { w[$0] },
                error: errors.message(for: name, words: w),
                options: [Choice(code: "", label: w["choose"] ?? "", checked: chosen == nil)]
                    + options.map { Choice(code: $0.0, label: $0.1, checked: chosen == $0.0) }
            )
        }
        let chosen = Set(v.information ?? [])
        return render(
            viewer,
            .share,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["shareTitle"] ?? ""),
            ShareModel(
                subject: subject.id,
                once: token,
                errors: errors.lines(w),
                selects: [
                    select("recipient", "shareRecipient", orgs.map { ($0.id, $0.name) }),
                    select(
                        "purpose",
                        "sharePurpose",
                        vocabulary.codes(.purpose).map {
                            ($0, vocabulary.label($0, in: .purpose, language: viewer.language))
                        }
                    ),
                    select(
                        "channel",
                        "shareChannel",
                        vocabulary.codes(.channel).map {
                            ($0, vocabulary.label($0, in: .channel, language: viewer.language))
                        }
                    ),
                    select(
                        "storageRegion",
                        "shareStorage",
                        hint: "shareStorageHint",
                        vocabulary.codes(.storageRegion).map {
                            ($0, vocabulary.label($0, in: .storageRegion, language: viewer.language))
                        }
                    ),
                ],
                information: vocabulary.codes(.information).map {
                    Choice(
                        code: $0,
                        label: vocabulary.label($0, in: .information, language: viewer.language),
                        checked: chosen.contains($0),
                        id: "i-\($0)",
                        name: "information[]"
                    )
                },
                informationError: errors.message(for: "information", words: w),
                seriousThreat: v.seriousThreat != nil
            )
        )
    }

    func ask(_ viewer: Viewer, _ id: String, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.decide)
        let subject = try services.subject(id, visibleTo: caller).id
        let form: ShareFields = try submission.decode()
        var errors: [FieldError] = []
        for (name, value) in [
            ("recipient", form.recipient), ("purpose", form.purpose), ("channel", form.channel),
            ("storageRegion", form.storageRegion),
        ] where (value ?? "").isEmpty {
            errors.append(FieldError(name, "missing"))
        }
        if (form.information ?? []).isEmpty { errors.append(FieldError("information", "missing")) }
        func redraw(_ errors: [FieldError]) throws -> Outcome {
            try problems(viewer, submission, errors, at: "/children/\(subject)/share") {
                try shareForm($0, subject, form, errors: errors, token: submission.token)
            }
        }
        guard errors.isEmpty else { return try redraw(errors) }
        let share = Share(
            recipient: form.recipient ?? "",
            purpose: form.purpose ?? "",
            information: form.information ?? [],
            channel: form.channel ?? "",
            storageRegion: form.storageRegion ?? ""
        )
        do {
            let input = DecisionInput(
                subject: subject,
                share: share,
                seriousThreat: form.seriousThreat != nil ? true : nil
            )
            let (_, recorded) = try await services.decisions.decideAndRecord(
                try services.decisions.request(input, caller: caller),
                actor: caller.actor
            )
            return .recorded("/children/\(subject)/decisions/\(recorded.index)")
        } catch let error as TiakiError where error.isFieldProblem {
            return try redraw([FieldError(error, fallback: "purpose")])
        }
    }

    struct AnswerModel: Encodable {
        let subject: String
        let decision: UInt64
        let permit: Bool
        let heading: String
        let question: String
        let asked: String
        let reasons: [String]
        let obligations: [String]
        let recordedShare: Bool
        let mayRecord: Bool
        let banner: String?
        /// The record button's one-time token: a double click records the share once.
        let once: String
    }

    /// A decision, as the one who asked reads it: permitted or not, why, and what they must do; with the button that
    /// records the share while it has not been recorded.
    func answer(_ request: Request, _ viewer: Viewer, _ id: String, _ index: Int) throws -> Response {
        let caller = try viewer.require(.decide)
        let subject = try services.subject(id, visibleTo: caller).id
        guard let entry = try services.core.entry(at: UInt64(index)), let decision = entry.body as? DecisionRecord,
            decision.request.subject == subject, entry.actor.org == caller.org
        else { throw PageError.notFound }
        let w = viewer.w
        let labels = ConsentSummary.labels(services.core.vocabulary, language: viewer.language)
        let shared = try services.disclosures.list(subject: subject, for: caller).contains {
            $0.record.decision == index
        }
        let heading = w[decision.effect == .permit ? "permitted" : "notPermitted"] ?? ""
        return render(
            viewer,
            .answer,
            title: heading,
            AnswerModel(
                subject: subject,
                decision: UInt64(index),
                permit: decision.effect == .permit,
                heading: heading,
                question: question(decision.request.share, labels, viewer),
                asked: Moment(entry.time).map { local.plain($0) } ?? entry.time,
                reasons: SubjectReport.plainReasons(decision.reasons, consent: { _ in nil }, labelled: false),
                obligations: decision.obligations.map {
                    // Each is a sentence on the page, whether or not the policy's words end in a stop.
                    $0.detail.hasSuffix(".") ? $0.detail : $0.detail + "."
                },
                recordedShare: shared,
                mayRecord: decision.effect == .permit && !shared && caller.may(.recordDisclosure),
                banner: banner(request, viewer),
                once: SessionStore.random()
            )
        )
    }

    struct RecordShareFields: Decodable {
        var decision: String?
    }

    /// Records the share that was made, exactly as the permit decided it.
    func recordShare(_ viewer: Viewer, _ id: String, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.recordDisclosure)
        let subject = try services.subject(id, visibleTo: caller).id
        let form: RecordShareFields = try submission.decode()
        guard let text = form.decision, let index = UInt64(text),
            let decision = try services.core.entry(at: index)?.body as? DecisionRecord,
            decision.request.subject == subject, decision.request.requester == caller.org,
            decision.effect == .permit
        else { throw PageError.notFound }
        if try services.disclosures.list(subject: subject, for: caller).contains(where: {
            $0.record.decision == Int(index)
        }) {
            return .recorded("/children/\(subject)?recorded=share&already=1")
        }
        _ = try await services.disclosures.record(
            DisclosureInput(
                subject: subject,
                decision: index,
                share: decision.request.share,
                date: decision.request.date
            ),
            actor: caller.actor
        )
        return .recorded("/children/\(subject)?recorded=share")
    }
}
