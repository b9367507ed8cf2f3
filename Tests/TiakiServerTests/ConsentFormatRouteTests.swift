import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel

@testable import TiakiServer

/// `GET /v1/consents/{id}?format=…` and `GET /v1/vocabulary`: the standard formats over HTTP, with the API's
/// roles and scope.
@Suite struct ConsentFormatRouteTests {
    @Test("a consent as FHIR R4: active, then inactive with its withdrawal date; names only for its own school")
    func fhirConsent() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                let uri = "/v1/consents/\(consent)?format=fhir-r4"
                var response = try await client.execute(uri: uri, method: .get, headers: cluster.headers("a"))
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/fhir+json; fhirVersion=4.0")
                var resource = response.json
                #expect(resource["resourceType"] == "Consent" && resource["status"] == "active")
                #expect(resource["patient"]?["identifier"]?["value"]?.stringValue == subject)
                let purposes = resource["provision"]?["purpose"]?.arrayValue?.compactMap { $0["code"]?.stringValue }
                #expect(purposes == ["learning-support-planning", "referral"])
                #expect(resource["provision"]?["period"]?["end"] == "2027-12-31")
                let person = resource["contained"]?.arrayValue?.first
                #expect(person?["name"]?.arrayValue?.first?["text"] == "Mere Parata")
                #expect(String(buffer: response.body).hasSuffix("\n"))

                // The facilitator reads it too, without the names; another school does not find it.
                response = try await client.execute(uri: uri, method: .get, headers: cluster.headers("facilitator"))
                #expect(response.status == .ok)
                #expect(!String(buffer: response.body).contains("Mere Parata"))
                response = try await client.execute(uri: uri, method: .get, headers: cluster.headers("b"))
                #expect(response.status == .notFound)
                response = try await client.execute(uri: uri, method: .get, headers: cluster.headers("auditor"))
                #expect(response.status == .forbidden)

                _ = try await cluster.services.consents.withdraw(
                    consent,
                    WithdrawalInput(by: "parent", date: "2026-03-05"),
                    actor: Cluster.schoolA
                )
                response = try await client.execute(uri: uri, method: .get, headers: cluster.headers("a"))
                resource = response.json
                #expect(resource["status"] == "inactive")
                let withdrawn = resource["extension"]?.arrayValue?.first {
                    $0["url"]?.stringValue?.hasSuffix("/withdrawn") == true
                }
                #expect(withdrawn?["extension"]?.arrayValue?.first?["valueDate"] == "2026-03-05")
            }
        }
    }

    @Test("a consent as an ISO/IEC TS 27560 record, and a refusal as both formats")
    func iso27560AndRefusal() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            let refusal = try await cluster.services.consents.refuse(
                subject: subject,
                RefusalInput(purposes: ["transition"], information: ["behaviour"], by: ["parent"]),
                actor: Cluster.schoolA
            ).index
            try await app.test(.router) { client in
                var response = try await client.execute(
                    uri: "/v1/consents/\(consent)?format=iso27560",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/ld+json")
                let record = response.json
                #expect(record["schemaVersion"] == "ISO/IEC TS 27560:2023")
                #expect(record["consentStatus"] == "dpv:ConsentGiven")
                #expect(record["notice"]?["text"] == "We would like to share…")
                #expect(record["piiPrincipalId"]?.stringValue == subject)

                response = try await client.execute(
                    uri: "/v1/consents/\(refusal)?format=fhir-r4",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(response.json["status"] == "rejected")
                #expect(response.json["provision"]?["type"] == "deny")
                response = try await client.execute(
                    uri: "/v1/consents/\(refusal)?format=iso27560",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(response.json["consentStatus"] == "dpv:ConsentRefused")
                response = try await client.execute(
                    uri: "/v1/consents/\(refusal)?format=iso27560",
                    method: .get,
                    headers: cluster.headers("b")
                )
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("an unknown format is refused naming the choices; an erased child's consent says erased, with no names")
    func badInputAndErasure() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                var response = try await client.execute(
                    uri: "/v1/consents/\(consent)?format=fhir",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(response.status == .badRequest)
                #expect(response.json["field"] == "format")
                #expect(response.json["detail"]?.stringValue?.contains("fhir-r4") == true)

                _ = try await cluster.services.subjects.erase(
                    subject,
                    ErasureInput(reason: .request),
                    actor: EntryActor(org: "office", credential: "test")
                )
                for format in ["fhir-r4", "iso27560"] {
                    response = try await client.execute(
                        uri: "/v1/consents/\(consent)?format=\(format)",
                        method: .get,
                        headers: cluster.headers("a")
                    )
                    #expect(response.status == .ok)
                    let body = String(buffer: response.body)
                    #expect(!body.contains("Mere Parata"))
                    #expect(body.contains("subject-erased") || body.contains("piiPrincipalErased"))
                }
            }
        }
    }

    @Test("the vocabulary as JSON and as FHIR CodeSystems, public, and every coding of a consent resolves in them")
    func vocabulary() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                var response = try await client.execute(uri: "/v1/vocabulary", method: .get, headers: [:])
                #expect(response.status == .ok)
                let systems = response.json["codeSystems"]?.arrayValue ?? []
                #expect(systems.count == Vocabulary.Dimension.allCases.count)
                var concepts: [String: Set<String>] = [:]
                for s in systems {
                    concepts[s["url"]?.stringValue ?? ""] = Set(
                        (s["concepts"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
                    )
                }
                response = try await client.execute(
                    uri: "/v1/vocabulary/purposes?format=fhir-r4",
                    method: .get,
                    headers: [:]
                )
                #expect(response.json["resourceType"] == "CodeSystem" && response.json["content"] == "complete")
                let url = try #require(response.json["url"]?.stringValue)
                #expect(url.hasSuffix("/v1/vocabulary/purposes") && concepts[url]?.contains("referral") == true)
                response = try await client.execute(uri: "/v1/vocabulary?format=fhir-r4", method: .get, headers: [:])
                #expect(response.json["entry"]?.arrayValue?.count == Vocabulary.Dimension.allCases.count)

                response = try await client.execute(uri: "/v1/vocabulary/purpose", method: .get, headers: [:])
                #expect(response.status == .notFound)
                #expect(response.json["detail"]?.stringValue?.contains("did you mean purposes?") == true)

                response = try await client.execute(
                    uri: "/v1/consents/\(consent)?format=fhir-r4",
                    method: .get,
                    headers: cluster.headers("a")
                )
                var checked = 0
                func walk(_ value: JSONValue) {
                    switch value {
                    case .object(let m):
                        if let system = m["system"]?.stringValue, let known = concepts[system] {
                            #expect(known.contains(m["code"]?.stringValue ?? ""), "\(system)")
                            checked += 1
                        }
                        m.values.forEach(walk)
                    case .array(let items): items.forEach(walk)
                    default: break
                    }
                }
                walk(response.json)
                #expect(checked >= 8)
            }
        }
    }

    @Test("an organisation's contact address and collecting law are recorded, checked, and given with its records")
    func organisationContact() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var response = try await client.execute(
                    uri: "/v1/orgs",
                    method: .post,
                    headers: cluster.headers("admin"),
                    body: buffer([
                        "id": "school-d", "kind": "school", "name": "Kōwhai School",
                        "contact": "office@kowhai.school.example",
                        "law": "Education and Training Act 2020, ss 34 and 165",
                    ])
                )
                #expect(response.status == .created)
                let registered = cluster.services.organisations.all()["school-d"]
                #expect(registered?.contact == "office@kowhai.school.example")
                #expect(registered?.law == "Education and Training Act 2020, ss 34 and 165")
                response = try await client.execute(
                    uri: "/v1/orgs",
                    method: .post,
                    headers: cluster.headers("admin"),
                    body: buffer(["id": "school-e", "kind": "school", "name": "E", "contact": "  "])
                )
                #expect(response.status == .badRequest && response.json["field"] == "contact")
                #expect(cluster.services.organisations.all()["school-e"] == nil)

                // Its records name it with its address, as the controller of what it recorded.
                let subject = try await cluster.services.subjects.register(
                    SubjectInput(birthMonth: "2015-06"),
                    actor: EntryActor(org: "school-d")
                ).entry.subject
                let consent = try await cluster.services.consents.grant(
                    subject: try #require(subject),
                    try consentInput(),
                    actor: EntryActor(org: "school-d")
                ).index
                response = try await client.execute(
                    uri: "/v1/consents/\(consent)?format=iso27560",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                let controller = response.json["controllers"]?.arrayValue?.first
                #expect(controller?["contact"] == "office@kowhai.school.example")
                #expect(controller?["law"] == "Education and Training Act 2020, ss 34 and 165")
            }
        }
    }
}
