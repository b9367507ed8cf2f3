public import TiakiLedger
import TiakiModel

/// A consent or refusal as an ISO/IEC TS 27560:2023 consent record, in JSON-LD whose terms map to the W3C Data
/// Privacy Vocabulary (DPV) as the DPV guide for 27560 does.
///
/// The mandatory elements (``mandatory``): the schema version, the record id, the PII principal, the notice (the
/// text shown, its version and language), the purposes, the personal data categories, the controllers and the
/// recipients, the storage locations, the retention, the rights (access and correction, withdrawal) and the
/// consent status with its history (given, withdrawn, replaced, refused) and times.
public enum ISO27560Record {
    public static let contentType = "application/ld+json"
    public static let schemaVersion = "ISO/IEC TS 27560:2023"
    public static let profile = "https://w3id.org/dpv/schema/dpv-27560#record"

    /// The elements every record carries, as JSON keys.
    public static let mandatory = [
        "schemaVersion", "recordId", "piiPrincipalId", "notice", "purposes", "personalData", "controllers",
        "recipients", "storageLocations", "retention", "rights", "consentStatus", "statusHistory",
    ]

    /// The JSON-LD context: each key as its DPV (or Dublin Core) term.
    static let context: JSONValue = [
        "dpv": "https://w3id.org/dpv#",
        "dct": "http://purl.org/dc/terms/",
        "schemaVersion": "dct:conformsTo",
        "recordId": ["@id": "dct:identifier", "@type": "@id"],
        "created": "dct:created",
        "piiPrincipalId": "dpv:hasDataSubject",
        "consentType": ["@id": "dpv:hasConsentType", "@type": "@id"],
        "consentStatus": ["@id": "dpv:hasConsentStatus", "@type": "@id"],
        "consentGivenBy": "dpv:isIndicatedBy",
        "notice": "dpv:hasNotice",
        "purposes": "dpv:hasPurpose",
        "personalData": "dpv:hasPersonalData",
        "controllers": "dpv:hasDataController",
        "recipients": "dpv:hasRecipient",
        "storageLocations": "dpv:hasLocation",
        "sharingChannels": "dpv:hasTechnicalMeasure",
        "retention": "dpv:hasStorageCondition",
        "rights": "dpv:hasRight",
        "legalBasis": "dpv:hasLegalBasis",
        "statusHistory": "dpv:hasEvent",
    ]

    /// The DPV consent status of a Tiaki status.
    static func dpvStatus(_ status: ConsentStatus) -> String {
        switch status {
        case .inForce: "dpv:ConsentGiven"
        case .withdrawn: "dpv:ConsentWithdrawn"
        case .replaced: "dpv:ConsentInvalidated"
        case .expired: "dpv:ConsentExpired"
        case .refused: "dpv:ConsentRefused"
        }
    }

    public static func record(_ record: ConsentRecord, _ systems: CodeSystems) -> JSONValue {
        let vocabulary = systems.vocabulary
        func term(_ code: String, _ dimension: Vocabulary.Dimension) -> JSONValue {
            [
                "@id": .string(systems.url(dimension) + "#" + code), "code": .string(code),
                "label": .string(vocabulary.label(code, in: dimension)),
            ]
        }
        func party(_ p: ConsentRecord.Party) -> JSONValue {
            .object(compacting: [
                ("@id", .string(systems.organisations + "/" + p.id)), ("id", .string(p.id)), ("name", .string(p.name)),
                ("kind", p.kind.isEmpty ? nil : .string(p.kind)),
                ("contact", p.contact.map { .string($0) }),
                ("law", p.law.map { .string($0) }),
            ])
        }
        var recipients = record.audience.map(party)
        for kind in record.terms?.audience.kinds ?? [] {
            recipients.append(["kind": term(kind, .organisationKind)])
        }
        var history: [JSONValue] = [
            .object(compacting: [
                ("status", .string(record.status == .refused ? "dpv:ConsentRefused" : "dpv:ConsentGiven")),
                ("time", .string(record.recorded)),
                ("date", record.informed.map { .string($0.date) } ?? record.refusal.map { .string($0.date) }),
                ("entry", .number(Double(record.index))),
            ])
        ]
        if let w = record.withdrawn {
            history.append(
                .object(compacting: [
                    ("status", "dpv:ConsentWithdrawn"), ("time", .string(w.time)), ("date", .string(w.date)),
                    ("by", w.by.map { term($0, .consenter) }), ("entry", .number(Double(w.index))),
                ])
            )
        }
        if let r = record.replacedBy {
            history.append([
                "status": "dpv:ConsentInvalidated", "time": .string(r.time), "date": .string(r.date),
                "replacedBy": .string(systems.consents + "/" + String(r.index)), "entry": .number(Double(r.index)),
            ])
        }
        let informed = record.informed
        let terms = record.terms
        var rights: [JSONValue] = [
            .object(compacting: [
                ("right", "access and correction"),
                ("law", "Privacy Act 2020, information privacy principles 6 and 7"),
                ("contact", terms.map { .string($0.accuracy.contact) }),
                ("how", terms.map { .string($0.accuracy.method) }),
            ])
        ]
        rights.append(
            .object(compacting: [
                ("right", "withdraw consent"),
                ("how", terms.map { .string($0.withdrawal.how) }),
                ("effect", terms.map { .string($0.withdrawal.effect) }),
            ])
        )
        var members = JSONValue.compact([
            ("@context", context),
            ("schemaVersion", .string(schemaVersion)),
            ("profile", .string(profile)),
            ("recordId", .string(systems.consents + "/" + String(record.index))),
            ("created", .string(record.recorded)),
            ("piiPrincipalId", .string(record.subject)),
            ("piiPrincipalErased", record.erased.map { .string($0) }),
            ("consentType", "dpv:ExpressedConsent"),
            ("consentStatus", .string(dpvStatus(record.status))),
            ("status", .string(record.status.rawValue)),
            (
                "consentGivenBy",
                .array(
                    record.consenterRoles.enumerated().map { i, role in
                        .object(compacting: [
                            ("role", term(role, .consenter)),
                            ("name", record.consenterNames.flatMap { i < $0.count ? $0[i] : nil }.map { .string($0) }),
                        ])
                    }
                )
            ),
            (
                "notice",
                .object(compacting: [
                    ("text", terms.map { .string($0.text) }),
                    ("version", informed.map { .string($0.noticeVersion) }),
                    ("language", informed.map { .string($0.language) }),
                    ("method", informed.map { .string($0.method) }),
                    ("provided", informed.map { .string($0.date) }),
                ])
            ),
            ("purposes", .array(record.purposes.map { term($0, .purpose) })),
            ("personalData", .array(record.information.map { term($0, .information) })),
            ("controllers", [party(record.recordedBy)]),
            ("recipients", .array(recipients)),
            ("storageLocations", .array((terms?.sharing.storageRegions ?? []).map { term($0, .storageRegion) })),
            ("sharingChannels", .array((terms?.sharing.channels ?? []).map { term($0, .channel) })),
            ("protection", terms.map { .string($0.sharing.protection) }),
            (
                "retention",
                terms.map {
                    .object(compacting: [
                        ("until", .string($0.retention.until)), ("event", $0.retention.event.map { .string($0) }),
                    ])
                }
            ),
            ("rights", .array(rights)),
            (
                "legalBasis",
                .object(compacting: [
                    ("law", "Privacy Act 2020, information privacy principle 11(1)(d)"),
                    ("policy", record.policy.map { .string(systems.policies + "/" + $0) }),
                ])
            ),
            ("supersedes", terms?.supersedes.map { .string(systems.consents + "/" + String($0)) }),
            ("statusHistory", .array(history)),
        ])
        // A refusal agreed to nothing: its recipients, storage and retention are there, and empty.
        for key in mandatory where members[key] == nil { members[key] = key == "retention" ? .object([:]) : .array([]) }
        return .object(members)
    }
}
