import Foundation
public import TiakiLedger
public import TiakiModel

/// Consents as HL7 FHIR R4 (4.0.1) resources: a `Consent` per consent or refusal, the vocabulary as
/// `CodeSystem`s, and a `Bundle` of both for an export.
///
/// Where each of the seven checklist items goes: purpose → `provision.purpose`; information →
/// `provision.code`; audience → `provision.actor` (role `IRCP`, information recipient); how it is shared and
/// stored → the `sharing-channel`, `storage-region` and `protection` extensions of the provision; when it comes
/// off the register → `provision.period.end` (and `retention-event`); checking its accuracy → the `accuracy`
/// extension; declining or withdrawing → the `withdrawal-terms` extension. The words shown are
/// `sourceAttachment`; who agreed is `performer` (contained `RelatedPerson`s, and the child for the young
/// person); a withdrawal is `status: inactive` with the `withdrawn` extension.
public enum FHIRConsent {
    public static let contentType = "application/fhir+json; fhirVersion=4.0"

    /// The FHIR relationship codes (HL7 v3 RoleCode) for the consenter roles that have one.
    static let roleCodes: [String: (code: String, display: String)] = [
        "parent": ("PRN", "parent"),
        "guardian": ("GUARD", "guardian"),
        "whanau": ("FAMMEMB", "family member"),
    ]

    /// One consent or refusal as a FHIR R4 `Consent`.
    public static func resource(_ record: ConsentRecord, _ systems: CodeSystems) -> JSONValue {
        let patient = patientReference(record.subject, systems)
        var contained: [JSONValue] = []
        var performers: [JSONValue] = []
        for (i, role) in record.consenterRoles.enumerated() {
            let label = systems.vocabulary.label(role, in: .consenter)
            if role == "young-person" {
                performers.append(patientReference(record.subject, systems, display: label))
                continue
            }
            var codings: [JSONValue] = []
            if let v3 = roleCodes[role] {
                codings.append([
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": .string(v3.code),
                    "display": .string(v3.display),
                ])
            }
            codings.append(systems.coding(role, .consenter))
            let name = record.consenterNames.flatMap { i < $0.count ? $0[i] : nil }
            let id = "consenter-\(i + 1)"
            contained.append(
                .object(compacting: [
                    ("resourceType", "RelatedPerson"), ("id", .string(id)), ("patient", patient),
                    ("relationship", [["coding": .array(codings), "text": .string(label)]]),
                    ("name", name.map { [["text": .string($0)]] }),
                ])
            )
            performers.append(["reference": .string("#" + id), "display": .string(label)])
        }

        let status: String =
            switch record.status {
            case .inForce: "active"
            case .withdrawn, .expired, .replaced: "inactive"
            case .refused: "rejected"
            }
        return .object(compacting: [
            ("resourceType", "Consent"),
            ("id", .string(String(record.index))),
            ("contained", .array(contained)),
            ("extension", .array(extensions(record, systems))),
            ("identifier", [["system": .string(systems.consents), "value": .string(String(record.index))]]),
            ("status", .string(status)),
            (
                "scope",
                [
                    "coding": [
                        [
                            "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy",
                            "display": "Privacy Consent",
                        ]
                    ]
                ]
            ),
            (
                "category",
                [["coding": [["system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"]]]]
            ),
            ("patient", patient),
            ("dateTime", .string(record.recorded)),
            ("performer", .array(performers)),
            ("organization", [organisationReference(record.recordedBy, systems)]),
            ("sourceAttachment", attachment(record)),
            ("policyRule", policyRule(record, systems)),
            ("provision", provision(record, systems)),
        ])
    }

    /// The vocabulary's dimension as a FHIR `CodeSystem` (complete, its codes in the policy's order).
    public static func codeSystem(_ dimension: Vocabulary.Dimension, _ systems: CodeSystems) -> JSONValue {
        let terms = systems.vocabulary.terms[dimension] ?? []
        let name =
            "Tiaki"
            + CodeSystems.title(dimension).split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined()
        return .object(compacting: [
            ("resourceType", "CodeSystem"),
            ("id", .string(dimension.rawValue)),
            ("url", .string(systems.url(dimension))),
            ("version", systems.policy.map { .string($0) }),
            ("name", .string(name)),
            ("title", .string(CodeSystems.title(dimension))),
            ("status", "active"),
            (
                "description",
                .string("The \(dimension.noun)s of the cluster's policy set, with the plain words shown to people.")
            ),
            ("caseSensitive", true),
            ("content", "complete"),
            ("count", .number(Double(terms.count))),
            ("concept", .array(terms.map { systems.concept($0.code, $0.label, dimension) })),
        ])
    }

    /// A `Bundle` of type `collection` holding `resources`.
    public static func bundle(_ resources: [JSONValue], timestamp: String) -> JSONValue {
        [
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": .string(timestamp),
            "entry": .array(resources.map { ["resource": $0] }),
        ]
    }

    // MARK: Parts

    static func patientReference(_ subject: String, _ systems: CodeSystems, display: String? = nil) -> JSONValue {
        .object(compacting: [
            ("type", "Patient"),
            ("identifier", ["system": .string(systems.subjects), "value": .string(subject)]),
            ("display", display.map { .string($0) }),
        ])
    }

    static func organisationReference(_ party: ConsentRecord.Party, _ systems: CodeSystems) -> JSONValue {
        [
            "type": "Organization",
            "identifier": ["system": .string(systems.organisations), "value": .string(party.id)],
            "display": .string(party.name),
        ]
    }

    /// The words the whānau were shown (base64 of the UTF-8 text), with the notice's version, language and method.
    static func attachment(_ record: ConsentRecord) -> JSONValue? {
        guard let informed = record.informed else { return nil }
        let text = record.terms?.text
        return .object(compacting: [
            ("contentType", text == nil ? nil : "text/plain; charset=utf-8"),
            ("language", isLanguageTag(informed.language) ? .string(informed.language) : nil),
            ("data", text.map { .string(Data($0.utf8).base64EncodedString()) }),
            ("title", .string("Notice \(informed.noticeVersion) (\(informed.language)), given by \(informed.method)")),
            ("creation", .string(informed.date)),
        ])
    }

    /// Privacy Act 2020, IPP 11(1)(d) (a disclosure the individual authorised), and the cluster's policy set.
    static func policyRule(_ record: ConsentRecord, _ systems: CodeSystems) -> JSONValue {
        var codings: [JSONValue] = [
            [
                "system": "https://www.legislation.govt.nz/act/public/2020/0031/latest/",
                "code": "IPP11(1)(d)",
                "display":
                    "Privacy Act 2020, information privacy principle 11(1)(d): disclosure authorised by the individual",
            ]
        ]
        if let digest = record.policy {
            codings.append([
                "system": .string(systems.policies), "code": .string(digest), "display": "the cluster's policy set",
            ])
        }
        return ["coding": .array(codings), "text": "Privacy Act 2020, IPP 11(1)(d), under the cluster's policy set"]
    }

    static func provision(_ record: ConsentRecord, _ systems: CodeSystems) -> JSONValue {
        let recipient: JSONValue = [
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP",
            "display": "information recipient",
        ]
        var actors: [JSONValue] = record.audience.map {
            ["role": ["coding": [recipient]], "reference": organisationReference($0, systems)]
        }
        for kind in record.terms?.audience.kinds ?? [] {
            let label = systems.vocabulary.label(kind, in: .organisationKind)
            actors.append([
                "role": ["coding": [recipient, systems.coding(kind, .organisationKind)]],
                "reference": ["type": "Organization", "display": .string("any organisation that is \(label)")],
            ])
        }
        var extensions: [JSONValue] = []
        if let terms = record.terms {
            for channel in terms.sharing.channels {
                extensions.append([
                    "url": .string(systems.extensionURL("sharing-channel")),
                    "valueCoding": systems.coding(channel, .channel),
                ])
            }
            for region in terms.sharing.storageRegions {
                extensions.append([
                    "url": .string(systems.extensionURL("storage-region")),
                    "valueCoding": systems.coding(region, .storageRegion),
                ])
            }
            extensions.append([
                "url": .string(systems.extensionURL("protection")), "valueString": .string(terms.sharing.protection),
            ])
            if let event = terms.retention.event {
                extensions.append([
                    "url": .string(systems.extensionURL("retention-event")), "valueString": .string(event),
                ])
            }
        }
        return .object(compacting: [
            ("extension", .array(extensions)),
            ("type", record.refusal == nil ? "permit" : "deny"),
            (
                "period",
                record.terms.map { ["start": .string($0.informed.date), "end": .string($0.retention.until)] }
            ),
            ("actor", .array(actors)),
            ("purpose", .array(record.purposes.map { systems.coding($0, .purpose) })),
            ("code", .array(record.information.map { ["coding": [systems.coding($0, .information)]] })),
        ])
    }

    static func extensions(_ record: ConsentRecord, _ systems: CodeSystems) -> [JSONValue] {
        func ext(_ name: String, _ key: String, _ value: JSONValue) -> JSONValue {
            .object(["url": .string(systems.extensionURL(name)), key: value])
        }
        func complex(_ name: String, _ parts: [(String, String, JSONValue?)]) -> JSONValue {
            [
                "url": .string(systems.extensionURL(name)),
                "extension": .array(
                    parts.compactMap { part in part.2.map { JSONValue.object(["url": .string(part.0), part.1: $0]) } }
                ),
            ]
        }
        func identifier(_ index: UInt64) -> JSONValue {
            ["system": .string(systems.consents), "value": .string(String(index))]
        }
        var out: [JSONValue] = []
        if let informed = record.informed {
            out.append(
                complex(
                    "informed",
                    [
                        ("date", "valueDate", .string(informed.date)),
                        ("noticeVersion", "valueString", .string(informed.noticeVersion)),
                        ("language", "valueString", .string(informed.language)),
                        ("method", "valueString", .string(informed.method)),
                    ]
                )
            )
        }
        if let terms = record.terms {
            out.append(
                complex(
                    "accuracy",
                    [
                        ("contact", "valueString", .string(terms.accuracy.contact)),
                        ("method", "valueString", .string(terms.accuracy.method)),
                    ]
                )
            )
            out.append(
                complex(
                    "withdrawal-terms",
                    [
                        ("effect", "valueString", .string(terms.withdrawal.effect)),
                        ("how", "valueString", .string(terms.withdrawal.how)),
                    ]
                )
            )
            if let old = terms.supersedes, let index = UInt64(exactly: old) {
                out.append(ext("supersedes", "valueIdentifier", identifier(index)))
            }
        }
        if let w = record.withdrawn {
            out.append(
                complex(
                    "withdrawn",
                    [
                        ("date", "valueDate", .string(w.date)),
                        ("by", "valueCoding", w.by.map { systems.coding($0, .consenter) }),
                        ("recorded", "valueDateTime", .string(w.time)),
                    ]
                )
            )
        }
        if let r = record.replacedBy { out.append(ext("replaced-by", "valueIdentifier", identifier(r.index))) }
        if let erased = record.erased { out.append(ext("subject-erased", "valueDate", .string(erased))) }
        return out
    }

    /// A BCP 47 tag as FHIR's `language` takes it ("en", "mi", "en-NZ").
    static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return false }
        return parts.dropFirst().allSatisfy {
            (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }
}
