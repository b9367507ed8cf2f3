import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

/// A problem with one field of a form, named as the API names it.
struct FieldError {
    var field: String
    var message: String

    /// The element the summary links to: the checklist item's fieldset, or the field itself.
    var anchor: String {
        let head = field.split(whereSeparator: { $0 == "." || $0 == "[" }).first.map(String.init) ?? field
        switch head {
        case "text": return "f-informed"
        default: return "f-" + head
        }
    }

    var values: [String: String] { ["field": field, "message": message, "anchor": anchor] }
}

extension WebPages {
    // MARK: Finding and registering a child

    func find(_ request: Request, _ viewer: Viewer) throws -> Response {
        let caller = try viewer.require(.member)
        let query = Form(request.uri.query ?? "")
        var values: [String: Any] = ["nsn": query["nsn"] ?? "", "ref": query["ref"] ?? ""]
        if query["nsn"] != nil || query["ref"] != nil {
            values["searched"] = true
            let found = try? services.subjects.find(nsn: query["nsn"], localReference: query["ref"], for: caller.org)
            if let found { values["found"] = found }
        }
        return render(viewer, "find", title: viewer.w["findTitle"] ?? "", values)
    }

    func registerForm(
        _ viewer: Viewer,
        values: Form,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws
        -> Response
    {
        _ = try viewer.require(.member)
        return render(
            viewer,
            "register",
            title: viewer.w["registerTitle"] ?? "",
            status: status,
            [
                "v": [
                    "birthMonth": values["birthMonth"] ?? "", "nsn": values["nsn"] ?? "",
                    "localReference": values["localReference"] ?? "", "name": values["name"] ?? "",
                ],
                "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    func register(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let caller = try viewer.require(.member)
        let form = try await form(request, viewer)
        do {
            let recorded = try await services.subjects.register(
                SubjectInput(
                    birthMonth: form["birthMonth"] ?? "",
                    nsn: form["nsn"],
                    localReference: form["localReference"],
                    name: form["name"]
                ),
                actor: caller.actor
            )
            guard let subject = recorded.entry.subject else { throw PageError.notFound }
            return Self.redirect("/children/\(subject)")
        } catch let error as TiakiError {
            return try registerForm(
                viewer,
                values: form,
                errors: [FieldError(field: error.field ?? "birthMonth", message: error.message)],
                status: .badRequest
            )
        }
    }

    // MARK: A child's page

    func childPage(_ viewer: Viewer, _ id: String) throws -> Response {
        let caller = try viewer.require(.member, .privacyOfficer, .facilitator)
        let subject = try services.subject(id, visibleTo: caller)
        let w = viewer.w
        let labels = ConsentSummary.labels(services.core.vocabulary, language: viewer.language)
        let consenters = services.core.vocabulary.codes(.consenter).map {
            ["code": $0, "label": services.core.vocabulary.label($0, in: .consenter, language: viewer.language)]
        }
        var consents: [[String: Any]] = []
        for item in try services.consents.list(subject: subject.id, for: caller) {
            let status = w["status.\(item.status.rawValue)"] ?? item.status.rawValue
            var entry: [String: Any] = [
                "statusText": status, "csrf": viewer.session?.csrf ?? "",
            ]
            if let id = item.consent {
                entry["id"] = id
                entry["title"] = w["consentFromSchool"] ?? "Consent"
                if let view = try services.consents.view(id, for: caller) {
                    entry["title"] =
                        "\(w["consentGiven"] ?? "") \(Day(view.terms.informed.date)?.plain ?? view.terms.informed.date)"
                    let lines = ConsentSummary.plainLines(
                        view.terms,
                        labels: labels,
                        organisation: organisationName,
                        words: viewer.documentWords
                    )
                    entry["items"] = lines.map { String($0.drop { $0 != " " }.dropFirst()) }
                    entry["hasItems"] = true
                    entry["receipt"] = caller.role == .member
                    entry["canWithdraw"] = caller.role == .member && item.status == .inForce
                    entry["consenterChoices"] = consenters
                }
            } else {
                entry["title"] = "\(status) · \(Day(item.date ?? "")?.plain ?? "")"
                entry["items"] = [
                    ConsentSummary.list(item.purposes.map { labels[$0] ?? $0 }) + " · "
                        + ConsentSummary.list(item.information.map { labels[$0] ?? $0 })
                ]
                entry["hasItems"] = true
            }
            consents.append(entry)
        }
        let decisionViews = try services.decisions.list(subject: subject.id, for: caller)
        let seriousThreat = Set(decisionViews.filter { $0.record.request.seriousThreat == true }.map(\.decision))
        let disclosures = try services.disclosures.list(subject: subject.id, for: caller).map { d -> [String: Any] in
            [
                "id": d.disclosure, "date": Day(d.record.date)?.plain ?? d.record.date,
                "recipient": organisationName(d.record.recipient),
                "information": ConsentSummary.list(d.record.information.map { labels[$0] ?? $0 }),
                "purpose": labels[d.record.purpose] ?? d.record.purpose,
                "reviewed": maybe(
                    d.reviewed.map { w[$0 == .justified ? "outcomeJustified" : "outcomeNotJustified"] ?? "" }
                ),
                "needsReview": !d.record.flags.isEmpty
                    || d.record.decision.map { seriousThreat.contains(UInt64($0)) } == true,
            ]
        }
        let decisions = decisionViews.reversed().map { d -> [String: Any] in
            [
                "date": Day(d.record.request.date)?.plain ?? d.record.request.date,
                "question": question(d.record.request.share, labels),
                "answer": w[d.record.effect == .permit ? "permitted" : "notPermitted"] ?? d.record.effect.rawValue,
                "reasons": SubjectReport.plainReasons(d.record.reasons, consent: { _ in nil }),
            ]
        }
        let name = caller.role == .member ? try services.subjects.name(of: subject.id) : nil
        let born = Day.parseMonth(subject.birthMonth).map { "\(Day.monthName($0.month)) \($0.year)" } ?? ""
        return render(
            viewer,
            "child",
            title: name ?? w["theChild"] ?? "",
            [
                "subject": subject.id, "heading": name ?? (w["theChild"] ?? "").capitalized, "born": born,
                "consents": consents, "hasConsents": !consents.isEmpty, "disclosures": disclosures,
                "hasDisclosures": !disclosures.isEmpty, "privacy": caller.role == .privacyOfficer,
                "member": caller.role == .member, "decisions": decisions, "hasDecisions": !decisions.isEmpty,
            ]
        )
    }

    // MARK: Recording a consent

    /// The seven items in the checklist's order: each its question, the vocabulary's choices, its text fields.
    func consentItems(_ viewer: Viewer, values: Form, errors: [FieldError]) -> [[String: Any]] {
        let w = viewer.w
        let v = services.core.vocabulary
        func choices(_ d: Vocabulary.Dimension, _ name: String) -> [[String: Any]] {
            let chosen = Set(values.all(name))
            return v.codes(d).map { code in
                [
                    "id": "c-\(name)-\(code)", "name": name, "code": code,
                    "label": v.label(code, in: d, language: viewer.language),
                    "checked": chosen.contains(code),
                ]
            }
        }
        func text(_ name: String, _ label: String, date: Bool = false, hint: String? = nil) -> [String: Any] {
            [
                "id": "f-" + name.replacingOccurrences(of: ".", with: "-"), "name": name, "label": w[label] ?? label,
                "value": values[name] ?? "", "date": date, "hint": maybe(hint),
            ]
        }
        func group(_ items: [[String: Any]], legend: String? = nil) -> [String: Any] {
            ["choices": items, "legend": maybe(legend)]
        }
        // Item 4 has two groups of choices: each its own fieldset, so that a screen reader names the group.
        let specs: [(String, [[String: Any]], [[String: Any]])] = [
            ("purposes", [group(choices(.purpose, "purposes"))], []),
            ("information", [group(choices(.information, "information"))], []),
            ("audience", [group(choices(.organisationKind, "audience.kinds"))], []),
            (
                "sharing",
                [
                    group(choices(.channel, "sharing.channels"), legend: w["sharedBy"]),
                    group(choices(.storageRegion, "sharing.storageRegions"), legend: w["keptIn"]),
                ],
                [text("sharing.protection", "protection")]
            ),
            ("retention", [], [text("retention.until", "until", date: true), text("retention.event", "event")]),
            ("accuracy", [], [text("accuracy.method", "method"), text("accuracy.contact", "contact")]),
            ("withdrawal", [], [text("withdrawal.effect", "effect"), text("withdrawal.how", "how")]),
        ]
        return specs.enumerated().map { n, spec in
            let problem = errors.first { $0.anchor == "f-" + spec.0 }
            return [
                "number": n + 1, "anchor": "f-" + spec.0, "question": w["q.\(spec.0)"] ?? spec.0,
                "groups": spec.1, "texts": spec.2,
                "error": maybe(problem.map { "\($0.field): \($0.message)" }),
            ]
        }
    }

    /// The seven items' fieldsets; a blank form's from the cache.
    func itemsHTML(_ viewer: Viewer, values: Form, errors: [FieldError]) -> String {
        func make() -> String {
            fragment("consentItems", viewer, ["items": consentItems(viewer, values: values, errors: errors)])
        }
        guard values.fields.isEmpty, errors.isEmpty else { return make() }
        return fragments.value("consent-items|\(viewer.language)", make)
    }

    func consentForm(
        _ viewer: Viewer,
        subject id: String,
        values: Form,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let w = viewer.w
        let chosenRole = values["consenterRole"] ?? "parent"
        let adult = services.core.vocabulary.codes(.consenter).filter { $0 != "young-person" }.map {
            [
                "code": $0, "label": services.core.vocabulary.label($0, in: .consenter, language: viewer.language),
                "selected": $0 == chosenRole,
            ]
        }
        let today = services.core.today.description
        return render(
            viewer,
            "consent",
            title: w["consentTitle"] ?? "",
            status: status,
            [
                "subject": subject.id, "itemsHTML": itemsHTML(viewer, values: values, errors: errors),
                "adultRoles": adult,
                "v": [
                    "consenterName": values["consenterName"] ?? "", "youngPerson": values["youngPerson"] != nil,
                    "youngPersonName": values["youngPersonName"] ?? "",
                    "informedDate": values["informedDate"] ?? today, "informedMethod": values["informedMethod"] ?? "",
                    "en": (values["informedLanguage"] ?? "en") == "en", "mi": values["informedLanguage"] == "mi",
                    "text": values["text"] ?? "",
                ],
                "consentersError": maybe(
                    errors.first { $0.anchor == "f-consenters" }.map { "\($0.field): \($0.message)" }
                ),
                "informedError": maybe(errors.first { $0.anchor == "f-informed" }.map { "\($0.field): \($0.message)" }),
                "hasErrors": !errors.isEmpty, "errors": errors.map(\.values),
            ]
        )
    }

    /// The input the form stands for, and every missing checklist item named as the API names it.
    func consentInput(_ f: Form) -> (ConsentInput, [FieldError]) {
        var errors: [FieldError] = []
        func need(_ name: String, _ what: String) -> String {
            if f[name] == nil { errors.append(FieldError(field: name, message: "say \(what)")) }
            return f[name] ?? ""
        }
        func needAll(_ name: String, _ field: String, _ what: String) -> [String] {
            let all = f.all(name)
            if all.isEmpty { errors.append(FieldError(field: field, message: "choose at least one: \(what)")) }
            return all
        }
        let purposes = needAll("purposes", "purposes", "why it is shared")
        let information = needAll("information", "information", "what information")
        let kinds = needAll("audience.kinds", "audience", "who will see it")
        let channels = needAll("sharing.channels", "sharing.channels", "how it is shared")
        let regions = needAll("sharing.storageRegions", "sharing.storageRegions", "where it is kept")
        let protection = need("sharing.protection", "how it is protected")
        let until = need("retention.until", "when it comes off the register")
        let method = need("accuracy.method", "how the whānau can check and correct it")
        let contact = need("accuracy.contact", "whom they ask")
        let effect = need("withdrawal.effect", "what happens if they decline or withdraw")
        let how = need("withdrawal.how", "how they withdraw")
        var consenters = [ConsentInput.Consenter(role: f["consenterRole"] ?? "parent", name: f["consenterName"])]
        if f["youngPerson"] != nil {
            consenters.append(.init(role: "young-person", name: f["youngPersonName"]))
        }
        let informedMethod = need("informedMethod", "how the whānau were told")
        let text = need("text", "the words the whānau were shown")
        let input = ConsentInput(
            purposes: purposes,
            information: information,
            audience: .init(kinds: kinds),
            sharing: .init(channels: channels, storageRegions: regions, protection: protection),
            retention: .init(until: until, event: f["retention.event"]),
            accuracy: .init(contact: contact, method: method),
            withdrawal: .init(effect: effect, how: how),
            consenters: consenters,
            informed: .init(
                date: f["informedDate"] ?? services.core.today.description,
                noticeVersion: "tiaki-sheet-1",
                language: f["informedLanguage"] == "mi" ? "mi" : "en",
                method: informedMethod
            ),
            text: text
        )
        // The API's names for the fields the form calls otherwise.
        errors = errors.map { e in
            var e = e
            if e.field == "informedMethod" { e.field = "informed.method" }
            return e
        }
        return (input, errors)
    }

    func recordConsent(_ request: Request, _ viewer: Viewer, _ id: String) async throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let form = try await form(request, viewer)
        let action = form["action"] ?? "record"
        if action == "edit" { return try consentForm(viewer, subject: subject.id, values: form, errors: []) }
        let (input, missing) = consentInput(form)
        if action.hasPrefix("sheet") {
            if !missing.isEmpty {
                return try consentForm(viewer, subject: subject.id, values: form, errors: missing, status: .badRequest)
            }
            return try sheet(viewer, subject: subject.id, input: input, form: form, action: action)
        }
        guard missing.isEmpty else {
            return try consentForm(viewer, subject: subject.id, values: form, errors: missing, status: .badRequest)
        }
        do {
            let recorded = try await services.consents.grant(subject: subject.id, input, actor: caller.actor)
            return Self.redirect("/consents/\(recorded.index)/receipt")
        } catch let error as TiakiError where error.code != .unavailable && error.code != .internal {
            return try consentForm(
                viewer,
                subject: subject.id,
                values: form,
                errors: [FieldError(field: error.field ?? "consent", message: error.message)],
                status: .badRequest
            )
        }
    }

    /// The whānau information sheet: the seven items in plain words on one printable page, in English, te reo
    /// Māori or both, with the school's contact; the form's answers carried so that the consent can be recorded.
    func sheet(_ viewer: Viewer, subject: String, input: ConsentInput, form: Form, action: String) throws -> Response {
        let caller = try viewer.require(.member)
        let languages: [String] =
            switch action {
            case "sheet-mi": ["mi"]
            case "sheet-both": ["en", "mi"]
            case "sheet-en": ["en"]
            default: [viewer.language]
            }
        let school = services.core.read { $0.organisations[caller.org] }
        let terms = ConsentTerms(
            purposes: input.purposes ?? [],
            information: input.information ?? [],
            audience: input.audience ?? .init(kinds: []),
            sharing: input.sharing ?? .init(channels: [], storageRegions: [], protection: ""),
            retention: input.retention ?? .init(until: ""),
            accuracy: input.accuracy ?? .init(contact: "", method: ""),
            withdrawal: input.withdrawal ?? .init(effect: "", how: ""),
            consenters: [],
            informed: input.informed,
            text: input.text
        )
        let parts = languages.map { language -> [String: Any] in
            let w = PageWords.words(language)
            let answers = ConsentSummary.plainLines(
                terms,
                labels: ConsentSummary.labels(services.core.vocabulary, language: language),
                organisation: organisationName,
                words: NoticeWords.words(language == "mi" ? .mi : .en)
            ).map { String($0.drop { $0 != ":" }.dropFirst().drop { $0 == " " }) }
            return [
                "lang": language, "title": w["sheetTitle"] ?? "", "intro": w["sheetIntro"] ?? "",
                "items": PageWords.items.enumerated().map { n, item in
                    ["number": n + 1, "question": w["q.\(item)"] ?? item, "answer": answers[n]] as [String: Any]
                },
                "contactLine":
                    "\(w["sheetContact"] ?? "") \(school?.name ?? caller.org)\(school?.contact.map { ", \($0)" } ?? ".")",
                "note": language == "mi" ? (w["unreviewed"] ?? "") : "",
            ]
        }
        var hidden: [[String: String]] = []
        for (name, values) in form.fields.sorted(by: { $0.key < $1.key }) where name != "csrf" && name != "action" {
            for value in values { hidden.append(["name": name, "value": value]) }
        }
        return render(
            viewer,
            "sheet",
            title: PageWords.words(languages[0])["sheetTitle"] ?? "",
            [
                "parts": parts, "both": languages.count == 2, "subject": subject, "hidden": hidden,
            ]
        )
    }

    // MARK: The receipt

    func receiptValue(_ caller: Caller, _ id: Int) throws -> (ConsentReceipt, String) {
        guard let view = try services.consents.view(id, for: caller), caller.role == .member,
            let bytes = try services.ledger.entry(at: UInt64(id))
        else { throw PageError.notFound }
        let checkpoint = services.ledger.checkpoint
        let proof = try services.ledger.inclusionProof(index: UInt64(id), size: checkpoint.size)
        let receipt = ConsentReceipt(
            entry: bytes,
            index: UInt64(id),
            proof: proof.hashes,
            checkpoint: checkpoint,
            vkey: services.ledger.verifier.vkey,
            terms: view.terms,
            vocabulary: ConsentSummary.labels(services.core.vocabulary)
        )
        return (receipt, view.subject)
    }

    func receipt(_ viewer: Viewer, _ id: Int) throws -> Response {
        let caller = try viewer.require(.member)
        let (receipt, subject) = try receiptValue(caller, id)
        let view = try services.consents.view(id, for: caller)
        let labels = ConsentSummary.labels(services.core.vocabulary)
        let agreed = zip(view?.terms.consenters ?? [], view?.consenterNames ?? []).map { c, name in
            name.map { "\($0) (\(labels[c.role] ?? c.role))" } ?? (labels[c.role] ?? c.role)
        }
        return render(
            viewer,
            "receipt",
            title: viewer.w["receiptTitle"] ?? "",
            [
                "items": receipt.summary.map { String($0.drop { $0 != " " }.dropFirst()) },
                "agreedBy": ConsentSummary.list(agreed), "index": receipt.index,
                "size": services.ledger.checkpoint.size, "checkpoint": receipt.checkpoint, "vkey": receipt.vkey,
                "subject": subject,
            ]
        )
    }

    func receiptJSON(_ viewer: Viewer, _ id: Int) throws -> Response {
        let caller = try viewer.require(.member)
        let (receipt, _) = try receiptValue(caller, id)
        var bytes = try CanonicalJSON.encode(try JSONValueEncoder().encode(receipt))
        bytes.append(0x0A)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json",
                .contentDisposition: "attachment; filename=\"receipt-\(id).json\"",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    // MARK: Withdrawing

    func withdraw(_ request: Request, _ viewer: Viewer, _ id: Int) async throws -> Response {
        let caller = try viewer.require(.member)
        let form = try await form(request, viewer)
        guard let view = try services.consents.view(id, for: caller) else { throw PageError.notFound }
        do {
            _ = try await services.consents.withdraw(
                id,
                WithdrawalInput(by: form["by"] ?? "parent", date: form["date"]),
                actor: caller.actor
            )
        } catch let error as TiakiError where error.code == .conflict || error.code == .invalid {
            return message(
                viewer,
                headingKey: "thereIsAProblem",
                text: error.message,
                status: .badRequest,
                link: ("/children/\(view.subject)", "backToChild")
            )
        }
        return Self.redirect("/children/\(view.subject)")
    }

    // MARK: May we share?

    func shareForm(
        _ viewer: Viewer,
        subject id: String,
        values: Form,
        errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let v = services.core.vocabulary
        let orgs = services.core.read { $0.organisations.values.sorted { $0.name < $1.name } }
            .filter { $0.id != caller.org }
        func select(_ name: String, _ label: String, _ options: [(String, String)]) -> [String: Any] {
            [
                "id": "f-\(name)", "anchor": "f-\(name)", "name": name, "label": label,
                "error": maybe(errors.first { $0.anchor == "f-\(name)" }.map(\.message)),
                "options": options.map { ["code": $0.0, "label": $0.1, "selected": values[name] == $0.0] },
            ]
        }
        let chosen = Set(values.all("information"))
        func make() -> String {
            fragment(
                "shareFields",
                viewer,
                [
                    "selects": [
                        select(
                            "purpose",
                            viewer.w["purpose"] ?? "",
                            v.codes(.purpose).map { ($0, v.label($0, in: .purpose, language: viewer.language)) }
                        ),
                        select("recipient", viewer.w["recipient"] ?? "", orgs.map { ($0.id, $0.name) }),
                        select(
                            "channel",
                            viewer.w["q.sharing"] ?? "",
                            v.codes(.channel).map { ($0, v.label($0, in: .channel, language: viewer.language)) }
                        ),
                        select(
                            "storageRegion",
                            "—",
                            v.codes(.storageRegion).map {
                                ($0, v.label($0, in: .storageRegion, language: viewer.language))
                            }
                        ),
                    ],
                    "information": v.codes(.information).map {
                        [
                            "id": "i-\($0)", "code": $0,
                            "label": v.label($0, in: .information, language: viewer.language),
                            "checked": chosen.contains($0),
                        ]
                    },
                    "informationError": maybe(errors.first { $0.anchor == "f-information" }.map(\.message)),
                ]
            )
        }
        // A blank form's choices are the same for every child of the school while the organisations stay the same.
        let fields =
            values.fields.isEmpty && errors.isEmpty
            ? fragments.value("share-fields|\(viewer.language)|\(orgs.count)|\(caller.org)", make) : make()
        return render(
            viewer,
            "share",
            title: viewer.w["shareTitle"] ?? "",
            status: status,
            ["subject": subject.id, "fieldsHTML": fields, "hasErrors": !errors.isEmpty, "errors": errors.map(\.values)]
        )
    }

    func ask(_ request: Request, _ viewer: Viewer, _ id: String) async throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let form = try await form(request, viewer)
        let share = Share(
            recipient: form["recipient"] ?? "",
            purpose: form["purpose"] ?? "",
            information: form.all("information"),
            channel: form["channel"] ?? "",
            storageRegion: form["storageRegion"] ?? ""
        )
        if share.information.isEmpty {
            return try shareForm(
                viewer,
                subject: subject.id,
                values: form,
                errors: [FieldError(field: "information", message: "choose at least one")],
                status: .badRequest
            )
        }
        do {
            let input = DecisionInput(
                subject: subject.id,
                share: share,
                seriousThreat: form["seriousThreat"] != nil ? true : nil
            )
            let (decision, recorded) = try await services.decisions.decideAndRecord(
                try services.decisions.request(input, caller: caller),
                actor: caller.actor
            )
            let labels = ConsentSummary.labels(services.core.vocabulary, language: viewer.language)
            return render(
                viewer,
                "answer",
                title: viewer.w[decision.effect == .permit ? "permitted" : "notPermitted"] ?? "",
                [
                    "permit": decision.effect == .permit, "question": question(share, labels),
                    "reasons": SubjectReport.plainReasons(decision.reasons, consent: { _ in nil }),
                    "obligations": decision.obligations.map(\.detail), "hasObligations": !decision.obligations.isEmpty,
                    "decision": recorded.index, "subject": subject.id,
                ]
            )
        } catch let error as TiakiError
            where error.code == .invalid || error.code == .notInVocabulary
            || error.code == .unknownOrganisation
        {
            return try shareForm(
                viewer,
                subject: subject.id,
                values: form,
                errors: [FieldError(field: error.field ?? "purpose", message: error.message)],
                status: .badRequest
            )
        }
    }

    /// A request to share in one line: what, to whom, why.
    func question(_ share: Share, _ labels: ConsentSummary.Labels) -> String {
        "\(ConsentSummary.list(share.information.map { labels[$0] ?? $0 })) → \(organisationName(share.recipient)), "
            + (labels[share.purpose] ?? share.purpose)
    }

    /// Records the share that was made, exactly as the permit decided it.
    func recordShare(_ request: Request, _ viewer: Viewer, _ id: String) async throws -> Response {
        let caller = try viewer.require(.member)
        let subject = try services.subject(id, visibleTo: caller)
        let form = try await form(request, viewer)
        guard let text = form["decision"], let index = UInt64(text),
            let decision = try services.core.entry(at: index)?.body as? DecisionRecord,
            decision.request.subject == subject.id, decision.request.requester == caller.org,
            decision.effect == .permit
        else { throw PageError.notFound }
        _ = try await services.disclosures.record(
            DisclosureInput(
                subject: subject.id,
                decision: index,
                share: decision.request.share,
                date: decision.request.date
            ),
            actor: caller.actor
        )
        return Self.redirect("/children/\(subject.id)")
    }
}
