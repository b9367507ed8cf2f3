import Foundation
import HTTPTypes
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// Recording what the whānau said: a consent through the seven checklist items (with the information sheet to
/// print before it is recorded, and the receipt after), its withdrawal, and a refusal.
extension WebPages {
    func addConsentRoutes(to routes: RouteCollection<Context>) {
        get(routes, "children/:subject/consents/new") { request, context, viewer in
            let subject = try Self.parameter(context, "subject")
            let (values, errors, token) = draft(request, viewer, ConsentFields.self)
            if let recorded = recordedDraft(request, viewer) {
                return Self.redirect(Self.adding("already=1", to: recorded))
            }
            return try consentForm(viewer, subject: subject, values ?? ConsentFields(), errors: errors, token: token)
        }
        post(
            routes,
            "children/:subject/consents",
            redraw: { viewer, submission, errors in
                try consentForm(
                    viewer,
                    subject: viewer.subjectInPath,
                    (try? submission.decode()) ?? ConsentFields(),
                    errors: errors,
                    token: submission.token
                )
            },
            submit: { _, context, viewer, submission in
                try await recordConsent(viewer, try Self.parameter(context, "subject"), submission)
            }
        )
        get(routes, "children/:subject/consents/sheet") { request, context, viewer in
            try sheet(request, viewer, try Self.parameter(context, "subject"))
        }
        get(routes, "consents/:consent/receipt") { request, context, viewer in
            try receipt(request, viewer, try Self.index(context, "consent"))
        }
        get(routes, "consents/:consent/receipt.json") { _, context, viewer in
            try receiptJSON(viewer, try Self.index(context, "consent"))
        }
        get(routes, "consents/:consent/withdraw") { request, context, viewer in
            let (values, errors, token) = draft(request, viewer, WithdrawFields.self)
            return try withdrawForm(
                viewer,
                try Self.index(context, "consent"),
                values ?? WithdrawFields(),
                errors: errors,
                token: token
            )
        }
        post(
            routes,
            "consents/:consent/withdraw",
            redraw: { viewer, submission, errors in
                try withdrawForm(
                    viewer,
                    viewer.consentInPath,
                    (try? submission.decode()) ?? WithdrawFields(),
                    errors: errors,
                    token: submission.token
                )
            },
            submit: { _, context, viewer, submission in
                try await withdraw(viewer, try Self.index(context, "consent"), submission)
            }
        )
        get(routes, "children/:subject/refusals/new") { request, context, viewer in
            let (values, errors, token) = draft(request, viewer, RefusalFields.self)
            return try refusalForm(
                viewer,
                try Self.parameter(context, "subject"),
                values ?? RefusalFields(),
                errors: errors,
                token: token
            )
        }
        post(
            routes,
            "children/:subject/refusals",
            redraw: { viewer, submission, errors in
                try refusalForm(
                    viewer,
                    viewer.subjectInPath,
                    (try? submission.decode()) ?? RefusalFields(),
                    errors: errors,
                    token: submission.token
                )
            },
            submit: { _, context, viewer, submission in
                try await recordRefusal(viewer, try Self.parameter(context, "subject"), submission)
            }
        )
    }

    /// Where the write of the draft in `?draft=` is shown, if it recorded one.
    func recordedDraft(_ request: Request, _ viewer: Viewer) -> String? {
        guard let token = Form(request.uri.query ?? "")["draft"], let session = viewer.session else { return nil }
        return sessions.draft(Self.token(token), session: session.id)?.result
    }

    // MARK: The consent form

    /// What the consent form sends: the seven items, who agreed, how they were told, the words they were shown.
    struct ConsentFields: Codable {
        var purposes: [String]?
        var information: [String]?
        var audience: [String]?
        var channels: [String]?
        var regions: [String]?
        var protection: String?
        var until: String?
        var event: String?
        var accuracyMethod: String?
        var accuracyContact: String?
        var withdrawalEffect: String?
        var withdrawalHow: String?
        var consenterRole: String?
        var consenterName: String?
        var youngPerson: String?
        var youngPersonName: String?
        var informedDate: String?
        var informedLanguage: String?
        var informedMethod: String?
        var text: String?
        var action: String?
    }

    struct ConsentItem: Encodable {
        let number: Int
        let anchor: String
        let question: String
        let error: String?
        let groups: [ChoiceGroup]
        let texts: [TextField]
    }

    struct ChoiceGroup: Encodable {
        let legend: String?
        let anchor: String
        let error: String?
        let choices: [Choice]
    }

    struct TextField: Encodable {
        let id: String
        let name: String
        let label: String
        let hint: String?
        let value: String
        let error: String?
        let long: Bool
    }

    /// The fields of a form as its template draws them: choices from the vocabulary, text fields and groups,
    /// each with its words in the reader's language and its problem, if it has one.
    struct FormFields {
        let w: [String: String]
        let errors: [FieldError]
        let vocabulary: Vocabulary
        let language: String

        func choices(_ d: Vocabulary.Dimension, _ name: String, _ chosen: [String]?) -> [Choice] {
            let chosen = Set(chosen ?? [])
            return vocabulary.codes(d).map {
                Choice(
                    code: $0,
                    label: vocabulary.label($0, in: d, language: language),
                    checked: chosen.contains($0),
                    id: "c-\(name)-\($0)",
                    name: name + "[]"
                )
            }
        }

        func text(
            _ name: String,
            _ label: String,
            _ value: String?,
            hint: String? = nil,
            long: Bool = false
        ) -> TextField {
            TextField(
                id: FieldError.anchor(name),
                name: name,
                label: w[label] ?? label,
                hint: hint.flatMap { w[$0] },
                value: value ?? "",
                error: errors.message(for: name, words: w),
                long: long
            )
        }

        /// A group of choices under its legend (a word; none for a group its item's heading names).
        func group(_ name: String, _ legend: String?, _ choices: [Choice]) -> ChoiceGroup {
            ChoiceGroup(
                legend: legend.map { w[$0] ?? $0 },
                anchor: FieldError.anchor(name),
                error: errors.message(for: name, words: w),
                choices: choices
            )
        }
    }

    struct ConsentFormModel: Encodable {
        let subject: String
        let once: String
        let errors: [ErrorLine]
        let items: [ConsentItem]
        let adultRoles: [Choice]
        let consenterName: TextField
        let youngPerson: Bool
        let youngPersonName: TextField
        let informedDate: TextField
        let informedMethod: TextField
        let english: Bool
        let maori: Bool
        let informedLanguageError: String?
        let text: TextField
    }

    func consentForm(
        _ viewer: Viewer,
        subject id: String,
        _ v: ConsentFields,
        errors: [FieldError],
        token: String,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let caller = try viewer.require(.recordConsent)
        let subject = try services.subject(id, visibleTo: caller)
        let w = viewer.w
        let vocabulary = services.core.vocabulary
        let fields = FormFields(w: w, errors: errors, vocabulary: vocabulary, language: viewer.language)
        let choices = fields.choices
        let group = fields.group
        let items: [(String, [ChoiceGroup], [TextField])] = [
            ("purposes", [group("purposes", nil, choices(.purpose, "purposes", v.purposes))], []),
            ("information", [group("information", nil, choices(.information, "information", v.information))], []),
            ("audience", [group("audience", nil, choices(.organisationKind, "audience", v.audience))], []),
            (
                "sharing",
                [
                    group("channels", "sharedBy", choices(.channel, "channels", v.channels)),
                    group("regions", "keptIn", choices(.storageRegion, "regions", v.regions)),
                ],
                [fields.text("protection", "protection", v.protection, hint: "protectionHint")]
            ),
            (
                "retention",
                [],
                [
                    fields.text("until", "until", v.until, hint: "dateHint"),
                    fields.text("event", "event", v.event, hint: "eventHint"),
                ]
            ),
            (
                "accuracy",
                [],
                [
                    fields.text("accuracyMethod", "method", v.accuracyMethod, hint: "methodHint"),
                    fields.text("accuracyContact", "contact", v.accuracyContact, hint: "contactHint"),
                ]
            ),
            (
                "withdrawal",
                [],
                [
                    fields.text("withdrawalEffect", "effect", v.withdrawalEffect, hint: "effectHint"),
                    fields.text("withdrawalHow", "how", v.withdrawalHow, hint: "howHint"),
                ]
            ),
        ]
        let chosenRole = v.consenterRole ?? "parent"
        return render(
            viewer,
            .consent,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["consentTitle"] ?? ""),
            status: status,
            ConsentFormModel(
                subject: subject.id,
                once: token,
                errors: errors.lines(w),
                items: items.enumerated().map { n, item in
                    ConsentItem(
                        number: n + 1,
                        anchor: "f-item-" + item.0,
                        question: w["q.\(item.0)"] ?? item.0,
                        error: nil,
                        groups: item.1,
                        texts: item.2
                    )
                },
                adultRoles: vocabulary.codes(.consenter).filter { $0 != "young-person" }.map {
                    Choice(
                        code: $0,
                        label: vocabulary.label($0, in: .consenter, language: viewer.language),
                        checked: $0 == chosenRole
                    )
                },
                consenterName: fields.text("consenterName", "theirName", v.consenterName),
                youngPerson: v.youngPerson != nil,
                youngPersonName: fields.text("youngPersonName", "youngPersonName", v.youngPersonName),
                informedDate: fields.text(
                    "informedDate",
                    "toldOn",
                    v.informedDate ?? services.core.today.typed,
                    hint: "dateHint"
                ),
                informedMethod: fields.text("informedMethod", "toldHow", v.informedMethod),
                english: (v.informedLanguage ?? "en") != "mi",
                maori: v.informedLanguage == "mi",
                informedLanguageError: errors.message(for: "informedLanguage", words: w),
                text: fields.text("text", "wordsShown", v.text, hint: "wordsShownHint", long: true)
            )
        )
    }

    /// The consent the form stands for, and every problem with it, by the form's fields.
    func consentInput(_ f: ConsentFields) -> (ConsentInput, [FieldError]) {
        var errors: [FieldError] = []
        func text(_ value: String?, _ field: String) -> String {
            let t = value.map(FreeText.trimmed) ?? ""
            if t.isEmpty { errors.append(FieldError(field, "missing")) }
            return t
        }
        func codes(_ value: [String]?, _ field: String) -> [String] {
            let all = (value ?? []).filter { !$0.isEmpty }
            if all.isEmpty { errors.append(FieldError(field, "missing")) }
            return all
        }
        let purposes = codes(f.purposes, "purposes")
        let information = codes(f.information, "information")
        let kinds = codes(f.audience, "audience")
        let channels = codes(f.channels, "channels")
        let regions = codes(f.regions, "regions")
        let protection = text(f.protection, "protection")
        var until = ""
        if text(f.until, "until").isEmpty == false {
            if let day = TypedDates.day(f.until ?? "") {
                until = day.description
            } else {
                errors.append(FieldError("until"))
            }
        }
        let event = f.event.map(FreeText.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        let method = text(f.accuracyMethod, "accuracyMethod")
        let contact = text(f.accuracyContact, "accuracyContact")
        let effect = text(f.withdrawalEffect, "withdrawalEffect")
        let how = text(f.withdrawalHow, "withdrawalHow")
        let name = text(f.consenterName, "consenterName")
        var consenters = [ConsentInput.Consenter(role: f.consenterRole ?? "parent", name: name.isEmpty ? nil : name)]
        if f.youngPerson != nil {
            let young = text(f.youngPersonName, "youngPersonName")
            consenters.append(.init(role: "young-person", name: young.isEmpty ? nil : young))
        }
        var informedDate = services.core.today.description
        if let typed = f.informedDate, !typed.trimmingCharacters(in: .whitespaces).isEmpty {
            if let day = TypedDates.day(typed) {
                informedDate = day.description
            } else {
                errors.append(FieldError("informedDate"))
            }
        }
        let informedMethod = text(f.informedMethod, "informedMethod")
        let words = text(f.text, "text")
        let input = ConsentInput(
            purposes: purposes,
            information: information,
            audience: .init(kinds: kinds),
            sharing: .init(channels: channels, storageRegions: regions, protection: protection),
            retention: .init(until: until, event: event),
            accuracy: .init(contact: contact, method: method),
            withdrawal: .init(effect: effect, how: how),
            consenters: consenters,
            informed: .init(
                date: informedDate,
                noticeVersion: "tiaki-sheet-1",
                language: f.informedLanguage == "mi" ? "mi" : "en",
                method: informedMethod
            ),
            text: words
        )
        return (input, errors)
    }

    /// A refusal of the consent service, as a problem with the form's field.
    func consentError(_ error: TiakiError) -> FieldError {
        var e = FieldError(error, fallback: "purposes")
        e.field = consentFieldNames[e.field] ?? e.field
        if error.field?.hasPrefix("consenters[1]") == true { e.field = "youngPersonName" }
        return e
    }

    func recordConsent(_ viewer: Viewer, _ id: String, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.recordConsent)
        let subject = try services.subject(id, visibleTo: caller).id
        var form: ConsentFields = try submission.decode()
        // From the information sheet: the form as it was when the sheet was drawn.
        if form.action == "record-sheet" {
            guard let session = viewer.session, let kept = sessions.draft(submission.token, session: session.id),
                let values = try? URLEncodedFormDecoder().decode(ConsentFields.self, from: kept.body)
            else {
                return .shown(
                    message(
                        viewer,
                        heading: "thereIsAProblem",
                        text: "draftGone",
                        status: .conflict,
                        link: ("/children/\(subject)/consents/new", "backToForm")
                    )
                )
            }
            form = values
            form.action = "record"
        }
        let path = "/children/\(subject)/consents/new"
        let (input, missing) = consentInput(form)
        func redraw(_ errors: [FieldError]) throws -> Outcome {
            try problems(viewer, submission, errors, at: path) {
                try consentForm($0, subject: subject, form, errors: errors, token: submission.token)
            }
        }
        guard missing.isEmpty else { return try redraw(missing) }
        if form.action?.hasPrefix("sheet") == true {
            // Checked before it is printed, so that what the whānau read can be recorded as it is.
            _ = keep(submission, errors: [], viewer: viewer, at: path)
            return .shown(Self.redirect("/children/\(subject)/consents/sheet?draft=\(submission.token)"))
        }
        do {
            let recorded = try await services.consents.grant(subject: subject, input, actor: caller.actor)
            return .recorded("/consents/\(recorded.index)/receipt?recorded=consent")
        } catch let error as TiakiError where error.isFieldProblem {
            return try redraw([consentError(error)])
        }
    }

    // MARK: The information sheet

    struct SheetPart: Encodable {
        let lang: String
        let title: String
        let intro: String
        let child: String
        let items: [SheetItem]
        let contactLine: String
        let note: String?
        let signHere: String
        let dateLine: String
    }

    struct SheetItem: Encodable {
        let number: Int
        let question: String
        let answer: String
    }

    struct SheetModel: Encodable {
        let subject: String
        let once: String
        let both: Bool
        let parts: [SheetPart]
        let recorded: String?
    }

    /// The whānau information sheet: the seven items in plain words on one printable page, in English, te reo
    /// Māori or both, naming the child and the day, with room to sign; drawn from the form kept as a draft.
    func sheet(_ request: Request, _ viewer: Viewer, _ id: String) throws -> Response {
        let caller = try viewer.require(.recordConsent)
        let subject = try services.subject(id, visibleTo: caller).id
        let query = Form(request.uri.query ?? "")
        guard let tokenText = query["draft"], let session = viewer.session,
            let kept = sessions.draft(Self.token(tokenText), session: session.id),
            let form = try? URLEncodedFormDecoder().decode(ConsentFields.self, from: kept.body)
        else { return Self.redirect("/children/\(subject)/consents/new") }
        let token = Self.token(tokenText)
        let (input, _) = consentInput(form)
        let languages: [String] =
            switch query["lang"] {
            case "mi": ["mi"]
            case "both": ["en", "mi"]
            case "en": ["en"]
            default: [viewer.language]
            }
        let school = services.core.read { $0.organisations[caller.org] }
        let child = try services.subjects.name(of: subject)
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
        let parts = languages.map { language -> SheetPart in
            let w = PageWords.words(language)
            let answers = ConsentSummary.plainLines(
                terms,
                labels: ConsentSummary.labels(services.core.vocabulary, language: language),
                organisation: organisationName,
                words: NoticeWords.words(language == "mi" ? .mi : .en)
            ).map { String($0.drop { $0 != ":" }.dropFirst().drop { $0 == " " }) }
            return SheetPart(
                lang: language,
                title: w["sheetTitle"] ?? "",
                intro: w["sheetIntro"] ?? "",
                child:
                    "\(w["sheetChild"] ?? "") \(child ?? (w["yourChild"] ?? "")) · \(school?.name ?? caller.org) · \(services.core.today.plain(in: language))",
                items: PageWords.items.enumerated().map { n, item in
                    SheetItem(number: n + 1, question: w["q.\(item)"] ?? item, answer: answers[n])
                },
                contactLine:
                    "\(w["sheetContact"] ?? "") \(school?.name ?? caller.org)\(school?.contact.map { ", \($0)" } ?? ".")",
                note: language == "mi" ? w["unreviewed"] : nil,
                signHere: w["signHere"] ?? "",
                dateLine: w["dateLine"] ?? ""
            )
        }
        return render(
            viewer,
            .sheet,
            title: PageWords.words(languages[0])["sheetTitle"] ?? "",
            SheetModel(
                subject: subject,
                once: token,
                both: languages.count == 2,
                parts: parts,
                recorded: kept.result
            )
        )
    }

    // MARK: The receipt

    func receiptValue(_ caller: Caller, _ id: Int) throws -> (ConsentReceipt, ConsentView) {
        try caller.require(.readReceipt)
        guard let view = try services.consents.view(id, for: caller),
            let bytes = try services.ledger.entry(at: UInt64(id))
        else { throw PageError.notFound }
        let checkpoint = services.ledger.checkpoint
        let proof = try services.ledger.inclusionProof(index: UInt64(id), size: checkpoint.size)
        let stored = (try services.core.entry(at: UInt64(id))?.body as? ConsentTerms) ?? view.terms
        let receipt = ConsentReceipt(
            entry: bytes,
            index: UInt64(id),
            proof: proof.hashes,
            checkpoint: checkpoint,
            vkey: services.ledger.verifier.vkey,
            terms: stored,
            opened: view.terms,
            vocabulary: ConsentSummary.labels(services.core.vocabulary)
        )
        return (receipt, view)
    }

    struct ReceiptModel: Encodable {
        let banner: String?
        let heading: String
        let intro: String
        let withdrawn: String?
        let child: String
        let school: String
        let agreedBy: String
        let given: String
        let items: [String]
        let index: UInt64
        let subject: String
    }

    func receipt(_ request: Request, _ viewer: Viewer, _ id: Int) throws -> Response {
        let caller = try viewer.require(.readReceipt)
        let (_, view) = try receiptValue(caller, id)
        let w = viewer.w
        let vocabulary = services.core.vocabulary
        let names = view.consenterNames ?? []
        let agreed = view.terms.consenters.enumerated().map { i, c in
            let role = vocabulary.label(c.role, in: .consenter, language: viewer.language)
            return (i < names.count ? names[i] : nil).map { "\($0) (\(role))" } ?? role
        }
        let lines = ConsentSummary.plainLines(
            view.terms,
            labels: ConsentSummary.labels(vocabulary, language: viewer.language),
            organisation: organisationName,
            words: viewer.documentWords
        )
        let withdrawn = view.withdrawn.map {
            "\(w["receiptWithdrawn"] ?? "") \(viewer.day($0.date))."
        }
        let recorder = services.core.read { $0.consents[id]?.recordedBy } ?? caller.org
        return render(
            viewer,
            .receipt,
            title: "\(w["receiptTitle"] ?? "") · \(w["consentNumber"] ?? "") \(id)",
            ReceiptModel(
                banner: banner(request, viewer),
                heading: "\(w["receiptTitle"] ?? "") · \(w["consentNumber"] ?? "") \(id)",
                intro: w[view.withdrawn == nil ? "receiptIntro" : "receiptIntroWithdrawn"] ?? "",
                withdrawn: withdrawn,
                child: try services.subjects.name(of: view.subject) ?? (w["theChild"] ?? ""),
                school: organisationName(recorder),
                agreedBy: ConsentSummary.list(agreed, joiner: w["and"] ?? "and"),
                given: viewer.day(view.terms.informed.date),
                items: lines.map { String($0.drop { $0 != " " }.dropFirst()) },
                index: UInt64(id),
                subject: view.subject
            )
        )
    }

    func receiptJSON(_ viewer: Viewer, _ id: Int) throws -> Response {
        let caller = try viewer.require(.readReceipt)
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

    struct WithdrawFields: Codable {
        var by: String?
        var date: String?
        var how: String?
        var confirm: String?
    }

    struct WithdrawModel: Encodable {
        let consent: Int
        let subject: String
        let once: String
        let errors: [ErrorLine]
        let summary: String
        let by: [Choice]
        let byError: String?
        let date: String
        let dateError: String?
        let how: String
        let howError: String?
        let confirmError: String?
        let stops: [String]
        let continues: [String]
    }

    func withdrawForm(
        _ viewer: Viewer,
        _ id: Int,
        _ v: WithdrawFields,
        errors: [FieldError],
        token: String
    ) throws -> Response {
        let caller = try viewer.require(.withdrawConsent)
        guard let view = try services.consents.view(id, for: caller) else { throw PageError.notFound }
        let w = viewer.w
        guard view.withdrawn == nil else {
            return Self.redirect("/children/\(view.subject)?recorded=withdrawal&already=1")
        }
        let vocabulary = services.core.vocabulary
        let labels = ConsentSummary.labels(vocabulary, language: viewer.language)
        let recipients = services.core.read { s in
            Set((s.consents[id]?.notify ?? []))
        }
        _ = recipients
        return render(
            viewer,
            .withdraw,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["withdrawTitle"] ?? ""),
            WithdrawModel(
                consent: id,
                subject: view.subject,
                once: token,
                errors: errors.lines(w),
                summary: "\(w["consentNumber"] ?? "") \(id): "
                    + ConsentSummary.list(view.terms.purposes.map { labels[$0] ?? $0 }, joiner: w["and"] ?? "and"),
                by: vocabulary.codes(.consenter).map {
                    Choice(
                        code: $0,
                        label: vocabulary.label($0, in: .consenter, language: viewer.language),
                        checked: v.by == $0
                    )
                },
                byError: errors.message(for: "by", words: w),
                date: v.date ?? services.core.today.typed,
                dateError: errors.message(for: "date", words: w),
                how: v.how ?? "",
                howError: errors.message(for: "how", words: w),
                confirmError: errors.message(for: "confirm", words: w),
                stops: [w["withdrawStops1"] ?? "", w["withdrawStops2"] ?? ""],
                continues: [w["withdrawContinues1"] ?? "", w["withdrawContinues2"] ?? ""]
            )
        )
    }

    func withdraw(_ viewer: Viewer, _ id: Int, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.withdrawConsent)
        guard let view = try services.consents.view(id, for: caller) else { throw PageError.notFound }
        let form: WithdrawFields = try submission.decode()
        var errors: [FieldError] = []
        if form.by == nil { errors.append(FieldError("by", "missing")) }
        var date: String?
        if let typed = form.date, !typed.trimmingCharacters(in: .whitespaces).isEmpty {
            if let day = TypedDates.day(typed) { date = day.description } else { errors.append(FieldError("date")) }
        } else {
            errors.append(FieldError("date", "missing"))
        }
        let how = form.how.map(FreeText.trimmed) ?? ""
        if how.isEmpty { errors.append(FieldError("how", "missing")) }
        if form.confirm != "yes" { errors.append(FieldError("confirm", "missing")) }
        func redraw(_ errors: [FieldError]) throws -> Outcome {
            try problems(viewer, submission, errors, at: "/consents/\(id)/withdraw") {
                try withdrawForm($0, id, form, errors: errors, token: submission.token)
            }
        }
        guard errors.isEmpty else { return try redraw(errors) }
        do {
            _ = try await services.consents.withdraw(
                id,
                WithdrawalInput(by: form.by ?? "", date: date, how: how),
                actor: caller.actor
            )
        } catch let error as TiakiError where error.code == .conflict {
            return .recorded("/children/\(view.subject)?recorded=withdrawal&already=1")
        } catch let error as TiakiError where error.isFieldProblem {
            var e = FieldError(error, fallback: "date")
            if e.field == "consent" { e.field = "date" }
            return try redraw([e])
        }
        return .recorded("/children/\(view.subject)?recorded=withdrawal")
    }

    // MARK: The whānau declined

    struct RefusalFields: Codable {
        var purposes: [String]?
        var information: [String]?
        var by: [String]?
        var informedDate: String?
        var informedLanguage: String?
        var informedMethod: String?
        var reason: String?
    }

    struct RefusalModel: Encodable {
        let subject: String
        let once: String
        let errors: [ErrorLine]
        let groups: [ChoiceGroup]
        let informedDate: TextField
        let informedMethod: TextField
        let english: Bool
        let maori: Bool
        let reason: TextField
    }

    func refusalForm(
        _ viewer: Viewer,
        _ id: String,
        _ v: RefusalFields,
        errors: [FieldError],
        token: String
    ) throws -> Response {
        let caller = try viewer.require(.recordRefusal)
        let subject = try services.subject(id, visibleTo: caller)
        let vocabulary = services.core.vocabulary
        let w = viewer.w
        let fields = FormFields(w: w, errors: errors, vocabulary: vocabulary, language: viewer.language)
        func group(_ d: Vocabulary.Dimension, _ name: String, _ legend: String, _ chosen: [String]?) -> ChoiceGroup {
            fields.group(name, legend, fields.choices(d, name, chosen))
        }
        return render(
            viewer,
            .refusal,
            title: (errors.isEmpty ? "" : (w["errorPrefix"] ?? "")) + (w["refusalTitle"] ?? ""),
            RefusalModel(
                subject: subject.id,
                once: token,
                errors: errors.lines(w),
                groups: [
                    group(.purpose, "purposes", "askedPurposes", v.purposes),
                    group(.information, "information", "askedInformation", v.information),
                    group(.consenter, "by", "declinedBy", v.by),
                ],
                informedDate: fields.text(
                    "informedDate",
                    "toldOn",
                    v.informedDate ?? services.core.today.typed,
                    hint: "dateHint"
                ),
                informedMethod: fields.text("informedMethod", "toldHow", v.informedMethod),
                english: v.informedLanguage != "mi",
                maori: v.informedLanguage == "mi",
                reason: fields.text("reason", "refusalReason", v.reason, hint: "sealedHint", long: true)
            )
        )
    }

    func recordRefusal(_ viewer: Viewer, _ id: String, _ submission: Submission) async throws -> Outcome {
        let caller = try viewer.require(.recordRefusal)
        let subject = try services.subject(id, visibleTo: caller).id
        let form: RefusalFields = try submission.decode()
        var errors: [FieldError] = []
        for (name, value) in [("purposes", form.purposes), ("information", form.information), ("by", form.by)]
        where (value ?? []).isEmpty {
            errors.append(FieldError(name, "missing"))
        }
        var date = services.core.today.description
        if let typed = form.informedDate, !typed.trimmingCharacters(in: .whitespaces).isEmpty {
            if let day = TypedDates.day(typed) {
                date = day.description
            } else {
                errors.append(FieldError("informedDate"))
            }
        }
        let method = form.informedMethod.map(FreeText.trimmed) ?? ""
        if method.isEmpty { errors.append(FieldError("informedMethod", "missing")) }
        func redraw(_ errors: [FieldError]) throws -> Outcome {
            try problems(viewer, submission, errors, at: "/children/\(subject)/refusals/new") {
                try refusalForm($0, subject, form, errors: errors, token: submission.token)
            }
        }
        guard errors.isEmpty else { return try redraw(errors) }
        let reason = form.reason.map(FreeText.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        do {
            _ = try await services.consents.refuse(
                subject: subject,
                RefusalInput(
                    purposes: form.purposes ?? [],
                    information: form.information ?? [],
                    by: form.by ?? [],
                    date: date,
                    informed: ConsentTerms.Informed(
                        date: date,
                        noticeVersion: "tiaki-sheet-1",
                        language: form.informedLanguage == "mi" ? "mi" : "en",
                        method: method
                    ),
                    reason: reason
                ),
                actor: caller.actor
            )
        } catch let error as TiakiError where error.isFieldProblem {
            var e = FieldError(error, fallback: "purposes")
            if e.field.hasPrefix("informed") {
                e.field = e.field == "informed.date" ? "informedDate" : "informedMethod"
            }
            if e.field == "date" { e.field = "informedDate" }
            return try redraw([e])
        }
        return .recorded("/children/\(subject)?recorded=refusal")
    }
}

extension WebPages.Viewer {
    /// The child named in this page's path (`/children/ID/…`), for drawing a form again when its token is stale.
    var subjectInPath: String {
        let parts = here.split(separator: "?")[0].split(separator: "/")
        return parts.count > 1 && parts[0] == "children" ? String(parts[1]) : ""
    }

    /// The consent named in this page's path (`/consents/N/…`).
    var consentInPath: Int {
        let parts = here.split(separator: "?")[0].split(separator: "/")
        return parts.count > 1 && parts[0] == "consents" ? Int(parts[1]) ?? -1 : -1
    }
}

/// The consent form's field for each field a consent's validation names.
private let consentFieldNames: [String: String] = [
    "purposes": "purposes", "information": "information", "audience": "audience", "audience.kinds": "audience",
    "audience.organisations": "audience", "sharing.channels": "channels", "sharing.storageRegions": "regions",
    "sharing.protection": "protection", "retention.until": "until", "retention.event": "event",
    "accuracy.contact": "accuracyContact", "accuracy.method": "accuracyMethod",
    "withdrawal.effect": "withdrawalEffect", "withdrawal.how": "withdrawalHow", "consenters": "consenterRole",
    "consenters.role": "consenterRole", "consenters.name": "consenterName", "informed": "informedMethod",
    "informed.date": "informedDate", "informed.method": "informedMethod", "informed.language": "informedLanguage",
    "text": "text", "subject": "consenterName",
]
